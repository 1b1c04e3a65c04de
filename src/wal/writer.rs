//! Per-directory segment writer with group commit.
