//! Streaming a query from PostgreSQL through a server-side cursor.
//!
//! A plain query makes libpq receive the whole result before the first row
//! is read, and diesel's row-by-row mode, when dropped early, still reads the
//! rest of the result to the end. A cursor does neither: rows come in
//! batches of [`FETCH_ROWS`], and when the consumer goes away the read-only
//! transaction is rolled back, which closes the cursor and stops the query
//! at once (after at most the rest of one batch). The statement timeout
//! applies to each fetch.
//!
//! Each batch is read in row-by-row mode, so PostgreSQL produces rows while
//! we encode the ones already here: with whole batches the two took turns,
//! each idle while the other worked (`benches/pg_compare.sh`: 2.04 → about
//! 1.5 × `psql \copy`; BENCHMARKS.md has the profile).

use super::row::RowBuf;
use super::StreamError;
use diesel::pg::PgRowByRowLoadingMode;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;
use diesel::{QueryResult, RunQueryDsl};
use std::io;

/// Rows per fetch: enough to amortise a round trip, few enough that a
/// departed client costs little (the rest of one batch is read and dropped).
/// 20,000 was no faster.
const FETCH_ROWS: usize = 2000;

/// `DECLARE hourglass_export NO SCROLL CURSOR FOR <query>`, with the query's
/// own bind parameters.
struct DeclareCursor<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for DeclareCursor<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("DECLARE hourglass_export NO SCROLL CURSOR FOR ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for DeclareCursor<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> RunQueryDsl<PgConnection> for DeclareCursor<Q> {}

/// `FETCH FORWARD n FROM hourglass_export`: rows of the declared query.
struct Fetch;

impl Query for Fetch {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for Fetch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(&format!("FETCH FORWARD {FETCH_ROWS} FROM hourglass_export"));
        Ok(())
    }
}

impl QueryId for Fetch {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<PgConnection> for Fetch {}

/// Streams the rows of `query` to `f` through a cursor in a read-only
/// transaction. Returns how many rows it passed on.
pub(crate) fn stream_with_cursor<Q>(
    conn: &mut PgConnection,
    query: Q,
    mut f: impl FnMut(&RowBuf) -> io::Result<()>,
) -> Result<u64, StreamError>
where
    Q: Query<SqlType = Untyped> + QueryFragment<Pg>,
{
    conn.build_transaction().read_only().run(|conn| {
        DeclareCursor(query).execute(conn)?;
        let mut count = 0;
        loop {
            let mut fetched = 0;
            for row in Fetch.load_iter::<RowBuf, PgRowByRowLoadingMode>(conn)? {
                f(&row?)?;
                fetched += 1;
            }
            count += fetched;
            if fetched < FETCH_ROWS as u64 {
                return Ok(count);
            }
        }
    })
}
