//! `devopstrack-tasks`: the tasks service on its own (for containers).

fn main() {}
