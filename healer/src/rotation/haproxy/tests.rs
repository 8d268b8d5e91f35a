//! The runtime API's answers as HAProxy 2.6 gives them (captured from `show servers state`
//! and `show stat`, trimmed to the columns read and a few beside them).

use super::*;

const STATE: &str = "1\n\
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n\
3 replicas 1 leaky-0-1 172.18.0.3 2 0 1\n\
3 replicas 2 leaky-0-2 - 0 5 1\n\
3 replicas 5 leaky-1-1 172.18.0.4 2 0 1\n\
3 replicas 6 leaky-1-2 172.18.0.9 2 0 1\n\n";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn servers_are_found_by_address_and_unresolved_slots_are_passed_over() {
    assert_eq!(servers_at(STATE, &[ip("172.18.0.3")]), ["leaky-0-1"]);
    assert_eq!(
        servers_at(STATE, &[ip("172.18.0.9"), ip("172.18.0.4")]),
        ["leaky-1-1", "leaky-1-2"]
    );
    assert!(servers_at(STATE, &[ip("10.0.0.1")]).is_empty());
    assert!(servers_at("No such backend.\n", &[ip("172.18.0.3")]).is_empty());
}

#[test]
fn current_sessions_are_summed_over_the_drained_servers_only() {
    let stat = "# pxname,svname,qcur,qmax,scur,smax,slim\n\
                replicas,leaky-0-1,0,0,2,5,\n\
                replicas,leaky-1-1,0,0,7,9,\n\
                replicas,leaky-1-2,0,0,1,1,\n";
    let servers = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert_eq!(current_sessions(stat, &servers(&["leaky-0-1"])), 2);
    assert_eq!(
        current_sessions(stat, &servers(&["leaky-0-1", "leaky-1-2"])),
        3
    );
    assert_eq!(current_sessions(stat, &servers(&["leaky-9-1"])), 0);
    assert_eq!(current_sessions("", &servers(&["leaky-0-1"])), 0);
}
