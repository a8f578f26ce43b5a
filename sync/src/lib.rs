//! The merge engine and change feed. Today: the hybrid logical clock the protocol's `hlc`
//! fields are written in. The merge engine, cursors and reference client follow in [sync].

pub mod hlc;
