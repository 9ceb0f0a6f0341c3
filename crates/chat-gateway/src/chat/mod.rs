//! ChatOps: rooms, messages, the bot, actions with confirmations and approvals, and the audit trail.
//!
//! Inside the gateway crate the chat is its own module tree, apart from the edge (`routes`, the WebSocket, the
//! dashboard). Imports point one way: `chat::domain` (types and rules, no I/O) ← `chat::parser` (text → intent) and
//! `chat::store` (rooms, messages, actions, audit on PostgreSQL or SQLite) ← the chat's use-cases ← the routes; the
//! optional LLM (`chat::llm`) sits beside the parser, whose checks its proposals go through.
//! The chat calls the other services through the same typed clients as the routes, with the caller's own token, so
//! every role check stays where it is.

pub mod app;
pub mod domain;
pub mod llm;
pub mod parser;
pub mod store;
