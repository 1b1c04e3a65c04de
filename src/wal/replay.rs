//! Replay: rebuilds the queue from the segments of every data directory.
