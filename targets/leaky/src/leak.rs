//! The leak store: memory the service holds on purpose. Every byte is written (non-zero fill),
//! so leaked memory is resident, not just reserved; freeing drops the buffers.

use std::sync::Mutex;

use crate::state::lock;

/// Leaks are allocated in chunks of at most this size, so a failed allocation only stops the
/// leak instead of aborting the process, and large chunks go back to the OS when freed.
const CHUNK: u64 = 1 << 20;

/// Non-zero fill: writing it touches every page.
const FILL: u8 = 0xA5;

#[derive(Default)]
pub(crate) struct LeakStore {
    inner: Mutex<Leaked>,
}

#[derive(Default)]
struct Leaked {
    chunks: Vec<Vec<u8>>,
    bytes: u64,
}

impl LeakStore {
    /// Allocates and fills `bytes` more bytes and keeps them. Returns how many were leaked:
    /// fewer than asked only if the allocator refused memory.
    pub fn leak(&self, bytes: u64) -> u64 {
        let mut chunks = Vec::new();
        let mut done = 0;
        while done < bytes {
            let size = (bytes - done).min(CHUNK);
            let Ok(len) = usize::try_from(size) else {
                break;
            };
            let mut chunk = Vec::new();
            if chunk.try_reserve_exact(len).is_err() {
                tracing::warn!(bytes, done, "allocator refused memory; leak stopped short");
                break;
            }
            chunk.resize(len, FILL);
            chunks.push(chunk);
            done += size;
        }
        let mut leaked = lock(&self.inner);
        leaked.chunks.append(&mut chunks);
        leaked.bytes += done;
        done
    }

    /// Drops everything leaked; returns how many bytes were freed.
    pub fn free(&self) -> u64 {
        let taken = std::mem::take(&mut *lock(&self.inner));
        // `taken` drops here, outside the lock.
        taken.bytes
    }

    /// Bytes held now.
    pub fn bytes(&self) -> u64 {
        lock(&self.inner).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leak_counts_and_free_returns_the_count() {
        let store = LeakStore::default();
        assert_eq!(store.leak(3 * CHUNK + 5), 3 * CHUNK + 5);
        assert_eq!(store.leak(10), 10);
        assert_eq!(store.bytes(), 3 * CHUNK + 15);
        assert_eq!(lock(&store.inner).chunks.len(), 5);
        assert!(lock(&store.inner)
            .chunks
            .iter()
            .flatten()
            .all(|b| *b == FILL));
        assert_eq!(store.free(), 3 * CHUNK + 15);
        assert_eq!(store.bytes(), 0);
        assert_eq!(store.leak(0), 0);
    }
}
