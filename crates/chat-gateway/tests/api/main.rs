//! The gateway's single integration-test binary: the real auth service behind the real edge, driven over HTTP.

mod admin_port;
mod audit;
mod auth_flow;
mod bad_input;
mod chat;
mod chat_store;
mod dashboard;
mod edge;
mod forged_tokens;
mod hardening;
mod helpers;
mod metrics;
mod pipelines;
mod proxies;
mod rbac;
mod readiness;
mod user_names;
mod webhooks;
mod ws;
