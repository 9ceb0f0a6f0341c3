//! `devopstrack auth rotate-keys`: a new signing key, straight in the auth store (the store's URL and the
//! key-encryption key come from auth's settings, or from a `devopstrack up` data directory). Running auth services
//! sign with it from their next maintenance round (`DEVOPSTRACK_AUTH__KEY_MAINTENANCE_INTERVAL_SECS`); the previous
//! key stays published until the tokens it signed have expired, unless `--retire-previous` retires it at once (a key
//! that may have leaked: every access token it signed stops working within one maintenance round plus the
//! verifiers' JWKS refresh bound, and users get new ones with their refresh tokens).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum AuthCommand {
    /// Generate a new signing key and make it the one that signs.
    RotateKeys(RotateArgs),
}

#[derive(Args)]
pub struct RotateArgs {
    /// A `devopstrack up` data directory: its auth.db and signing-key-kek are used unless
    /// DEVOPSTRACK_AUTH__DATABASE_URL / DEVOPSTRACK_AUTH__SIGNING_KEY_KEK say otherwise.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Retire every previous key now instead of when the tokens it signed expire.
    #[arg(long)]
    retire_previous: bool,
}

pub async fn run(command: AuthCommand) -> anyhow::Result<()> {
    match command {
        AuthCommand::RotateKeys(args) => rotate(args).await,
    }
}

async fn rotate(args: RotateArgs) -> anyhow::Result<()> {
    let mut settings = devopstrack_auth::config::Settings::load()?;
    if let Some(dir) = &args.data_dir {
        let dir = dir
            .canonicalize()
            .map_err(|e| anyhow::anyhow!("--data-dir {}: {e}", dir.display()))?;
        if std::env::var_os("DEVOPSTRACK_AUTH__DATABASE_URL").is_none() {
            settings.database_url = format!("sqlite://{}", dir.join("auth.db").display());
        }
        if settings.signing_key_kek.is_none() {
            let file = dir.join(crate::secrets::KEK_FILE);
            let kek = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e} (has `devopstrack up` run there?)", file.display()))?;
            settings.signing_key_kek = Some(secrecy::SecretString::from(kek.trim().to_owned()));
        }
    }
    settings.validate()?;
    let app = devopstrack_auth::startup::build_app(&settings).await?;
    let kid = app.rotate_keys(args.retire_previous).await?;
    println!("signing key rotated: {kid} now signs");
    if args.retire_previous {
        println!("every previous key was retired: the tokens they signed stop working once services re-read the keys");
    }
    Ok(())
}
