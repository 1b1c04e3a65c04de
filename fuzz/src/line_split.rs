//! Fuzz body: the line splitter (`sluice_wire::lines`) of the netcat and exec sources. The
//! first byte picks the line limit, the second how the rest is cut into reads. The pieces may
//! not depend on how the stream was cut; a line holds no `\n`, ends in no `\r` it did not
//! have twice, and fits the limit; no more bytes come out than went in.

use sluice_wire::lines::{LineSplitter, Piece};

fn pieces(data: &[u8], max_line_bytes: usize, step: usize) -> Vec<Piece> {
    let mut s = LineSplitter::new(max_line_bytes);
    let mut out = Vec::new();
    for chunk in data.chunks(step.max(1)) {
        s.push(chunk);
        while let Some(p) = s.next_piece() {
            out.push(p);
        }
        assert!(
            s.buffered() <= max_line_bytes + step,
            "the splitter holds more than a line and a read"
        );
    }
    out.extend(s.finish());
    assert_eq!(s.buffered(), 0, "finish leaves bytes behind");
    out
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let [limit, split, rest @ ..] = data else {
        return;
    };
    let max_line_bytes = 1 + usize::from(*limit);
    let whole = pieces(rest, max_line_bytes, rest.len());
    let cut = pieces(rest, max_line_bytes, 1 + usize::from(*split % 23));
    assert_eq!(whole, cut, "lines depend on read boundaries");
    let mut total = 0;
    for p in &whole {
        if let Piece::Line(l) = p {
            assert!(!l.contains(&b'\n'), "a line holds a newline");
            assert!(l.len() < max_line_bytes, "a line over the limit");
            total += l.len();
        }
    }
    assert!(total <= rest.len(), "lines hold more bytes than the input");
}
