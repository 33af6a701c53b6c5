//! # ember-observer
//!
//! `ember-top`, a terminal viewer for a running Ember node in the spirit of
//! `observer_cli`: the top processes (sortable by reductions, mailbox
//! length, memory and label), the supervision tree (collapsible), each
//! worker's utilisation as a sparkline, a process detail pane, and, when
//! both sides allow it, killing a process after a confirmation.
//!
//! The node opts in with `ember::observer::serve(addr)`; then
//!
//! ```text
//! cargo run -p ember-observer --bin ember-top -- ADDR            # the viewer
//! cargo run -p ember-observer --bin ember-top -- --once --json ADDR   # one snapshot, as JSON
//! ```
//!
//! This library is what the binary is made of: a [`Client`] for the
//! observer protocol, the [`Model`] the viewer keeps between refreshes
//! (sorting, the tree, histories), and the drawing ([`ui`]).
//!
//! ```
//! use ember_observer::{Model, SortKey};
//! let mut model = Model::new();
//! model.set_sort(SortKey::Mailbox);
//! assert!(model.rows().is_empty()); // no snapshot yet
//! ```
#![deny(missing_docs)]

pub mod app;
mod client;
mod model;
pub mod ui;

pub use client::{Client, ClientError};
pub use model::{Model, SortKey, TreeRow};
