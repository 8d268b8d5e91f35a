//! Leaked memory is resident and freeing gives it back. Alone in its test binary, so no other
//! test moves this process's resident size.

mod common;

use leaky::Config;

const MIB: f64 = 1024.0 * 1024.0;

#[tokio::test]
async fn leak_is_resident_and_free_returns_it() {
    let service = common::start(Config::default()).await;
    let before = service.gauge("process_resident_memory_bytes").await;

    let reply = service.control("/chaos/leak?mib=32").await;
    assert_eq!(reply["state"]["leaked_bytes"], 32 << 20);
    let leaked = service.gauge("process_resident_memory_bytes").await;
    assert!(
        leaked - before >= 28.0 * MIB,
        "resident memory rose by only {:.1} MiB",
        (leaked - before) / MIB
    );
    assert_eq!(service.gauge("leaky_leaked_bytes").await, 32.0 * MIB);
    let scrape = service.scrape().await;
    assert!(common::find(&scrape, "leaky_leaked_bytes", &[]).is_some());

    let reply = service.control("/chaos/free").await;
    assert_eq!(reply["freed_bytes"], 32 << 20);
    assert_eq!(service.gauge("leaky_leaked_bytes").await, 0.0);
    let freed = service.gauge("process_resident_memory_bytes").await;
    assert!(
        leaked - freed >= 24.0 * MIB,
        "resident memory fell by only {:.1} MiB after free",
        (leaked - freed) / MIB
    );
}
