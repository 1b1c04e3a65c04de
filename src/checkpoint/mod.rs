//! Checkpoints: a durable image of the channel's queue so that open replays only the tail.
