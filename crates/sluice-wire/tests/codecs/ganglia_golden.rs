//! Ganglia packets against golden bytes: the packets Flume's `GangliaServer` writes for the
//! same metric (its `createGangliaMessage31` and `createGangliaMessage`, field by field), which
//! a real gmond 3.7.2 accepted and reported (`tests/net/ganglia.rs` checks that end to end).

use sluice_wire::ganglia::metric_packets;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn ganglia31_sends_metadata_then_the_value_as_flume_does() {
    let p = metric_packets("myhost", "flume.CHANNEL.c1.ChannelSize", "42", false).unwrap();
    assert_eq!(p.len(), 2);
    // 128, host, name, spoof 0, "float", name, units "", slope 3, tmax 60, dmax 0,
    // 1 extra element GROUP = flume.
    let meta = "00000080000000066d79686f737400000000001c666c756d652e4348414e4e454c2e63312e4368616e\
                6e656c53697a650000000000000005666c6f61740000000000001c666c756d652e4348414e4e454c2e\
                63312e4368616e6e656c53697a6500000000000000030000003c00000000000000010000000547524f\
                555000000000000005666c756d65000000";
    // 133, host, name, spoof 0, format "%s", value "42".
    let value = "00000085000000066d79686f737400000000001c666c756d652e4348414e4e454c2e63312e436861\
                 6e6e656c53697a650000000000000002257300000000000234320000";
    assert_eq!(p[0], hex(meta));
    assert_eq!(p[1], hex(value));
}

#[test]
fn ganglia30_sends_one_packet_named_host_dot_metric() {
    let p = metric_packets("myhost", "flume.SOURCE.r1.Type", "SOURCE", true).unwrap();
    // 0, "string", "myhost.flume.SOURCE.r1.Type", "SOURCE", units "", slope, tmax, dmax.
    let g30 = "0000000000000006737472696e6700000000001b6d79686f73742e666c756d652e534f555243452e72\
               312e547970650000000006534f55524345000000000000000000030000003c00000000";
    assert_eq!(p, vec![hex(g30)]);
}
