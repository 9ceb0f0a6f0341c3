//! Roles and what they may do. Ordered: `Viewer < Operator < Admin`; `Service` is for service accounts and is
//! compared explicitly where it is allowed, never by rank.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
    /// A service acting on its own behalf (client-credentials grant). Never assignable to a user.
    Service,
}

impl Role {
    /// Every role a user account may have.
    pub const USER_ROLES: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }

    /// Rank for user roles; `None` for `Service`, which is not on the user ladder.
    pub fn rank(self) -> Option<u8> {
        match self {
            Role::Viewer => Some(1),
            Role::Operator => Some(2),
            Role::Admin => Some(3),
            Role::Service => None,
        }
    }

    /// True when this user role grants at least what `required` grants. `Service` satisfies nothing here.
    pub fn at_least(self, required: Role) -> bool {
        match (self.rank(), required.rank()) {
            (Some(have), Some(need)) => have >= need,
            _ => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected viewer, operator or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            "service" => Ok(Role::Service),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_round_trip_and_rank() {
        for role in [Role::Viewer, Role::Operator, Role::Admin, Role::Service] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!(Role::Admin.at_least(Role::Operator));
        assert!(Role::Operator.at_least(Role::Operator));
        assert!(!Role::Viewer.at_least(Role::Operator));
        assert!(!Role::Service.at_least(Role::Viewer));
        assert!(!Role::Admin.at_least(Role::Service));
    }
}
