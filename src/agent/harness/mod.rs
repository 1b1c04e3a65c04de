//! `sluice test`: unit tests of a configuration's routing, without sockets or disks. A test
//! file (TOML, [`spec`]) names events to inject at a source and what each channel and sink
//! must receive. [`run`] puts the events through the source's real channel processor (its
//! interceptors and selector, as the agent builds them) into capturing channels, then lets
//! each sink take from its channel as the sink runners do (a sink group through its real
//! processor policy: failover, load_balance); [`check`] compares what arrived with the
//! expectations and describes every difference (the event, the component, the diff).

pub(crate) mod capture;
pub mod check;
pub(crate) mod run;
pub(crate) mod spec;

pub use check::{check, Failure};
pub use run::{run_case, Delivered, RunError};
pub use spec::{Case, Expect, Input, Matcher, SpecError, TestFile};
