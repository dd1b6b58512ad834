//! `GET /api/schema`: every dataset with its columns in output order (custom
//! fields included): type, whether a write requires it, allowed values, and
//! which column is the stamp; and how long its rows are kept here.

use crate::auth::ReadKey;
use crate::datasets::Dataset;
use crate::state::{Db, Limits};
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn schema(_key: ReadKey, db: web::Data<Db>, limits: web::Data<Limits>) -> HttpResponse {
    let mut described = db.catalog.current().describe();
    let now = db.clock.now();
    for dataset in described["datasets"].as_array_mut().into_iter().flatten() {
        let kept = dataset["name"].as_str().and_then(Dataset::from_name);
        let (age, horizon) = kept.map_or((None, None), |d| limits.kept(d, now));
        dataset["retention_seconds"] = json!(age.map(|age| age.as_secs()));
        dataset["horizon"] = json!(horizon.map(|h| h.to_string()));
    }
    HttpResponse::Ok().json(described)
}
