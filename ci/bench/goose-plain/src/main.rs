//! One transaction, `GET /`, with goose's own client; all configuration from goose's CLI.
use goose::prelude::*;

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _response = user.get("/").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    GooseAttack::initialize()?
        .register_scenario(scenario!("Plain").register_transaction(transaction!(get_root)))
        .execute()
        .await?;
    Ok(())
}
