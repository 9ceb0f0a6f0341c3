//! `devopstrack user create`: creates a user straight in the auth store, for bootstrapping a real deployment.

use std::io::BufRead;

use clap::{Args, Subcommand};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

use devopstrack_auth::app::NewUser;
use devopstrack_platform::auth::Role;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user (prints a generated password unless --password-stdin).
    Create(CreateArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long)]
    email: String,
    /// viewer, operator or admin.
    #[arg(long)]
    role: Role,
    /// Display name (default: the part of the email before @).
    #[arg(long)]
    name: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// The auth store: postgres://… or sqlite://path.
    #[arg(long, env = "DEVOPSTRACK_AUTH__DATABASE_URL")]
    database_url: String,
}

pub async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create(args) => create(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let mut settings = devopstrack_auth::config::Settings::load()?;
    settings.database_url = args.database_url;
    settings.validate()?;
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (
            SecretString::from(line.trim_end_matches(['\r', '\n']).to_owned()),
            false,
        )
    } else {
        (SecretString::from(generate_password(20)), true)
    };
    let name = args
        .name
        .unwrap_or_else(|| args.email.split('@').next().unwrap_or("user").to_owned());
    let admin = devopstrack_auth::startup::build_user_admin(&settings).await?;
    let user = admin
        .bootstrap_user(NewUser {
            email: args.email,
            name,
            role: Some(args.role),
            password: password.clone(),
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created {} ({}) with id {}", user.email, user.role, user.id);
    if generated {
        println!("password: {}", password.expose_secret());
    }
    Ok(())
}

/// A random password of `len` characters from an unambiguous alphabet.
pub fn generate_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
