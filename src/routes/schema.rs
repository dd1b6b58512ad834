//! `GET /api/schema`: every dataset with its columns in output order (custom
//! fields included): type, whether a write requires it, allowed values, and
//! which column is the stamp.

use crate::auth::ReadKey;
use crate::state::Db;
use actix_web::{web, HttpResponse};

pub async fn schema(_key: ReadKey, db: web::Data<Db>) -> HttpResponse {
    HttpResponse::Ok().json(db.catalog.current().describe())
}
