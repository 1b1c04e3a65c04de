//! The agent ↔ Java host protocol: length-prefixed frames and their messages. The JVM, its
//! process and the sessions over these frames are the agent's (`agent::java`).

pub mod frame;
pub mod messages;
