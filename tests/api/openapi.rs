//! openapi.yaml's dataset schemas are generated from the datasets'
//! description (`src/datasets/defs.rs`), between two marker lines; this test
//! fails when the committed file differs from what the description gives.
//! After changing a dataset, regenerate them with
//! `UPDATE_OPENAPI=1 cargo test --test api openapi`.

use hourglass::datasets::column::{Column, Kind, MAX_ID_CHARS};
use hourglass::datasets::{Dataset, Role};
use std::fmt::Write as _;

const BEGIN: &str = "    # BEGIN dataset schemas, generated from src/datasets/defs.rs: UPDATE_OPENAPI=1 cargo test --test api openapi";
const END: &str = "    # END dataset schemas";
const PATHS_BEGIN: &str = "  # BEGIN dataset paths, generated from src/datasets/defs.rs: UPDATE_OPENAPI=1 cargo test --test api openapi";
const PATHS_END: &str = "  # END dataset paths";

/// A timestamp as a written row and a window's bounds take it, in the form
/// every client sends (the server accepts more spellings; see the
/// parameters' descriptions). Days stop at 28 so that every match is a date.
const TIMESTAMP_PATTERN: &str = r"^(19[7-9][0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$";

fn schema_name(dataset: Dataset) -> String {
    dataset
        .name()
        .split('_')
        .map(|part| part[..1].to_uppercase() + &part[1..])
        .collect()
}

fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One property of a dataset's schema: as a pull writes it, or (`written`)
/// as a write may send it, with every constraint the server checks that
/// JSON Schema can state.
fn property(column: &Column, stamp: bool, written: bool) -> String {
    let nullable = !stamp && !column.required;
    let mut attributes = if written {
        // Every form the server reads. A union lists them with `anyOf`, each
        // branch nullable where the column is optional (OpenAPI 3.0 has no
        // null type).
        let mut branches: Vec<String> = written_forms(column)
            .into_iter()
            .map(|form| {
                if nullable {
                    format!("{form}, nullable: true")
                } else {
                    form
                }
            })
            .collect();
        match branches.len() {
            1 => branches.remove(0),
            _ => format!("anyOf: [{{{}}}]", branches.join("}, {")),
        }
    } else {
        let mut single = match column.kind {
            Kind::Id => format!("type: string, minLength: 1, maxLength: {MAX_ID_CHARS}"),
            Kind::Text if !column.values.is_empty() => enumeration(column.values, nullable),
            Kind::Text => "type: string".to_string(),
            Kind::Date => "type: string, format: date, example: '1990-02-03'".to_string(),
            Kind::Int => "type: integer, format: int64".to_string(),
            Kind::Bool => "type: boolean".to_string(),
            Kind::Bit => "type: integer, enum: [0, 1]".to_string(),
            Kind::Time => "allOf: [{$ref: '#/components/schemas/Timestamp'}]".to_string(),
            Kind::Money | Kind::Cents => {
                "allOf: [{$ref: '#/components/schemas/Decimal'}]".to_string()
            }
        };
        if nullable {
            single.push_str(", nullable: true");
        }
        single
    };
    if stamp {
        attributes.push_str(", readOnly: true");
    }
    if !column.doc.is_empty() {
        write!(
            attributes,
            ", description: '{}'",
            column.doc.replace('\'', "''")
        )
        .unwrap();
    }
    format!("        {}: {{{attributes}}}\n", column.name)
}

/// `enum: [...]`, with `null` among the values of an optional column (in
/// OpenAPI 3.0 an enumeration must list null to allow it).
fn enumeration(values: &[&str], nullable: bool) -> String {
    format!(
        "type: string, enum: [{}{}]",
        quoted(values),
        if nullable { ", null" } else { "" }
    )
}

/// The JSON forms a write may send for `column`, as schema bodies.
fn written_forms(column: &Column) -> Vec<String> {
    let nullable = !column.required;
    match column.kind {
        // A JSON number is kept as it was written, for ids and text alike.
        Kind::Id => vec![
            format!(
                "type: string, minLength: 1, maxLength: {MAX_ID_CHARS}, pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]*$'"
            ),
            "type: number".to_string(),
        ],
        Kind::Text if !column.values.is_empty() => vec![enumeration(column.values, nullable)],
        Kind::Text => vec![
            "type: string, pattern: '^[^\\u0000]*$'".to_string(),
            "type: number".to_string(),
        ],
        Kind::Date => vec!["type: string, format: date, example: '1990-02-03'".to_string()],
        Kind::Int => vec!["type: integer, format: int64".to_string()],
        Kind::Bool | Kind::Bit => vec![
            "type: boolean".to_string(),
            "type: integer, enum: [0, 1]".to_string(),
            r"type: string, pattern: '^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[01])\s*$'"
                .to_string(),
        ],
        Kind::Time => vec![format!(
            "type: string, pattern: '{TIMESTAMP_PATTERN}', example: '2020-10-10 07:12:09'"
        )],
        Kind::Money | Kind::Cents => vec![
            r"type: string, pattern: '^-?[0-9]{1,12}(\.[0-9]{1,6})?$', example: '12.50'"
                .to_string(),
            "type: integer, minimum: -9223372036854, maximum: 9223372036854".to_string(),
        ],
    }
}

/// The generated schemas: each dataset's row as a pull writes it, and, for
/// the datasets that are written, the row a write sends.
fn generated() -> String {
    let mut yaml = format!("{BEGIN}\n");
    for dataset in Dataset::all() {
        let def = dataset.def();
        let required: Vec<&str> = def
            .columns
            .iter()
            .filter(|c| c.required)
            .map(|c| c.name.as_ref())
            .collect();
        let mut description = format!("{} Columns in output order.", def.doc);
        if def.custom_fields {
            description.push_str(" Custom fields (GET /api/schema) follow as trailing columns.");
        }
        match def.role {
            Role::Computed { written_as } => {
                write!(description, " Computed from {written_as}; read-only.").unwrap()
            }
            Role::WriteOnly { pulled_as } => {
                write!(description, " Write-only; pulled as {pulled_as}.").unwrap()
            }
            Role::Feed => description.push_str(" Recorded by hourglass; read-only."),
            Role::Stored => {}
        }
        write!(
            yaml,
            "    {}:\n      type: object\n      description: '{}'\n      required: [{}]\n      properties:\n",
            schema_name(dataset),
            description.replace('\'', "''"),
            required.join(", ")
        )
        .unwrap();
        for column in def.columns {
            yaml.push_str(&property(
                column,
                Some(column.name.as_ref()) == def.stamp,
                false,
            ));
        }
        if dataset.is_pushable() {
            let extra = if def.custom_fields {
                " Declared custom fields are accepted too."
            } else {
                ""
            };
            write!(
                yaml,
                "    {}Written:\n      type: object\n      description: 'A row of {} as a write sends it: without its stamp column, which hourglass sets.{extra}'\n      required: [{}]\n      additionalProperties: false\n      properties:\n",
                schema_name(dataset),
                def.name,
                required.join(", ")
            )
            .unwrap();
            for column in def
                .columns
                .iter()
                .filter(|c| Some(c.name.as_ref()) != def.stamp)
            {
                yaml.push_str(&property(column, false, true));
            }
        }
    }
    yaml.push_str(END);
    yaml
}

/// Why a window of a dataset may be gone: the deletions feed keeps its
/// records for a while, and any other dataset may be retained (`--retain`).
fn purged_response(role: Role) -> &'static str {
    match role {
        Role::Feed => "DeletionsPurged",
        _ => "WindowPurged",
    }
}

/// What a pull or a count may answer besides 200 and 410.
const PULL_ERRORS: &[(&str, &str)] = &[
    ("400", "InvalidParameter"),
    ("401", "Unauthorized"),
    ("403", "Forbidden"),
    ("425", "TooEarly"),
    ("429", "TooManyStreams"),
    ("500", "Internal"),
    ("503", "Unavailable"),
];

/// The generated paths: `GET` and `POST /api/<dataset>` for each dataset
/// that is pulled or written, each with its own row schema.
fn generated_paths() -> String {
    let mut yaml = format!("{PATHS_BEGIN}\n");
    let refs = |codes: &[(&str, &str)]| -> String {
        codes
            .iter()
            .map(|(code, response)| {
                format!("        '{code}': {{$ref: '#/components/responses/{response}'}}\n")
            })
            .collect()
    };
    for dataset in Dataset::all() {
        let (def, schema) = (dataset.def(), schema_name(dataset));
        writeln!(yaml, "  /api/{}:", def.name).unwrap();
        if dataset.is_pullable() {
            write!(
                yaml,
                "    get:\n      summary: Pull the {name} whose last-modified time lies in [from, to)\n      operationId: pull_{name}\n      description: '{doc} Rows are ordered by (last-modified, {key}) and streamed; needs a key with read scope.'\n      parameters:\n        - {{$ref: '#/components/parameters/From'}}\n        - {{$ref: '#/components/parameters/To'}}\n        - {{$ref: '#/components/parameters/Format'}}\n        - {{$ref: '#/components/parameters/Download'}}\n      responses:\n        '200':\n          description: The window's rows. CSV has a header row even when empty; absent values are empty fields / null.\n          headers:\n            Server-Timing: {{$ref: '#/components/headers/ServerTiming'}}\n            X-Columns: {{$ref: '#/components/headers/Columns'}}\n            Content-Disposition: {{$ref: '#/components/headers/ContentDisposition'}}\n          content:\n            application/json:\n              schema: {{type: array, items: {{$ref: '#/components/schemas/{schema}'}}}}\n            application/x-ndjson:\n              schema: {{allOf: [{{$ref: '#/components/schemas/{schema}'}}], description: 'One such object per line, in the order of the JSON array.'}}\n            text/csv:\n              schema: {{type: string, description: 'A header row naming the properties of {schema} in order (as X-Columns does), then one line per row; lines end in LF.'}}\n",
                name = def.name,
                doc = def.doc.replace('\'', "''"),
                key = def.key,
            )
            .unwrap();
            yaml.push_str(&refs(&[("410", purged_response(def.role))]));
            yaml.push_str(&refs(PULL_ERRORS));
        }
        let count = dataset.is_pullable().then(|| {
            let mut yaml = format!(
                "  /api/{name}/count:\n    get:\n      summary: Count the {name} a pull of [from, to) would return\n      operationId: count_{name}\n      description: 'Counted on the window''s index, under the same rules as the pull (a window that has not ended, or that writes in flight could still add to, is waited for), so the count and the download agree. Needs a key with read scope.'\n      parameters:\n        - {{$ref: '#/components/parameters/From'}}\n        - {{$ref: '#/components/parameters/To'}}\n      responses:\n        '200': {{$ref: '#/components/responses/Count'}}\n",
                name = def.name,
            );
            yaml.push_str(&refs(&[("410", purged_response(def.role))]));
            yaml.push_str(&refs(PULL_ERRORS));
            yaml
        });
        if dataset.is_pushable() {
            write!(
                yaml,
                "    post:\n      summary: Write {name} (upsert by {key}), atomically\n      operationId: write_{name}\n      description: 'The whole batch is checked first: one bad row rejects it with 422 and nothing is written. Every row is stamped with the same new last-modified time. Also accepted: NDJSON (application/x-ndjson) and CSV (text/csv) with a header row, and gzip or deflate Content-Encoding. Needs a key with write scope.'\n      requestBody:\n        required: true\n        content:\n          application/json:\n            schema: {{type: array, minItems: 1, items: {{$ref: '#/components/schemas/{schema}Written'}}}}\n      responses:\n        '200': {{$ref: '#/components/responses/Written'}}\n",
                name = def.name,
                key = def.key,
            )
            .unwrap();
            yaml.push_str(&refs(&[
                ("400", "MalformedBody"),
                ("401", "Unauthorized"),
                ("403", "Forbidden"),
                ("408", "BodyTimeout"),
                ("413", "PayloadTooLarge"),
                ("415", "UnsupportedMediaType"),
                ("422", "InvalidRow"),
                ("429", "TooManyStreams"),
                ("500", "Internal"),
                ("503", "Unavailable"),
            ]));
        }
        if dataset.is_deletable() {
            let key = def.columns.iter().find(|c| c.name == def.key).unwrap();
            let forms = written_forms(key);
            let any_key = format!(
                "{{anyOf: [{}]}}",
                forms
                    .iter()
                    .map(|f| format!("{{{f}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            write!(
                yaml,
                "  /api/{name}/{{id}}:\n    delete:\n      summary: Delete one {name} row by its {key}\n      operationId: delete_{name}\n      description: 'Removes the row and records it in GET /api/deletions, stamped like a write. Needs a key with write scope.'\n      parameters:\n        - {{name: id, in: path, required: true, description: 'The row''s {key}.', schema: {{type: string, minLength: 1, maxLength: {MAX_ID_CHARS}, pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f/]*$'}}}}\n      responses:\n        '204': {{description: The row was deleted.}}\n",
                name = def.name,
                key = def.key,
            )
            .unwrap();
            yaml.push_str(&refs(&[
                ("400", "InvalidParameter"),
                ("401", "Unauthorized"),
                ("403", "Forbidden"),
                ("404", "RowNotFound"),
                ("500", "Internal"),
                ("503", "Unavailable"),
            ]));
            write!(
                yaml,
                "  /api/{name}/deletions:\n    post:\n      summary: Delete {name} rows by {key}, many at once, atomically\n      operationId: delete_many_{name}\n      description: 'The keys as a JSON array (of keys, or of objects holding only the key), NDJSON, or CSV whose header is the key column; at most 100,000. All are deleted in one transaction and recorded in GET /api/deletions; keys that name no row are counted, not an error. Needs a key with write scope.'\n      requestBody:\n        required: true\n        content:\n          application/json:\n            schema: {{type: array, minItems: 1, maxItems: 100000, items: {{anyOf: [{any_key}, {{type: object, required: [{key}], additionalProperties: false, properties: {{{key}: {any_key}}}}}]}}}}\n      responses:\n        '200': {{$ref: '#/components/responses/Deleted'}}\n",
                name = def.name,
                key = def.key,
            )
            .unwrap();
            yaml.push_str(&refs(&[
                ("400", "MalformedBody"),
                ("401", "Unauthorized"),
                ("403", "Forbidden"),
                ("408", "BodyTimeout"),
                ("413", "PayloadTooLarge"),
                ("415", "UnsupportedMediaType"),
                ("422", "InvalidRow"),
                ("500", "Internal"),
                ("503", "Unavailable"),
            ]));
        }
        yaml.push_str(&count.unwrap_or_default());
    }
    yaml.push_str(PATHS_END);
    yaml
}

/// Replaces the block between `begin` and `end` of `spec` with `wanted`, or
/// says where they differ.
fn check_block(spec: &mut String, begin: &str, end: &str, wanted: &str) -> Result<(), String> {
    let (Some(from), Some(to)) = (spec.find(begin), spec.find(end)) else {
        panic!(
            "openapi.yaml has no generated block: add the lines\n{begin}\n{end}\nthen regenerate"
        );
    };
    let current = &spec[from..to + end.len()];
    if current == wanted {
        return Ok(());
    }
    let difference = current
        .lines()
        .zip(wanted.lines())
        .find(|(a, b)| a != b)
        .map_or("(one is longer)".to_string(), |(a, b)| {
            format!("\n  file: {a}\n  want: {b}")
        });
    spec.replace_range(from..to + end.len(), wanted);
    Err(difference)
}

#[test]
fn the_dataset_schemas_in_openapi_yaml_follow_the_description() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    let mut spec = std::fs::read_to_string(path).unwrap();
    let differences: Vec<String> = [
        check_block(&mut spec, BEGIN, END, &generated()),
        check_block(&mut spec, PATHS_BEGIN, PATHS_END, &generated_paths()),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    if differences.is_empty() {
        return;
    }
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, spec).unwrap();
        return;
    }
    panic!(
        "openapi.yaml's generated parts differ from src/datasets/defs.rs at {}\nregenerate them: UPDATE_OPENAPI=1 cargo test --test api openapi",
        differences.join(", and at ")
    );
}

/// `(METHOD, path)` of every operation in openapi.yaml, from its `paths:`
/// section (paths indented two spaces, methods four).
fn spec_routes(spec: &str) -> std::collections::BTreeSet<(String, String)> {
    let mut routes = std::collections::BTreeSet::new();
    let mut path = None;
    for line in spec
        .lines()
        .skip_while(|l| *l != "paths:")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
    {
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(method) = line.strip_prefix("    ").and_then(|m| m.strip_suffix(':')) {
            if ["get", "post", "put", "delete", "patch"].contains(&method) {
                routes.insert((method.to_uppercase(), path.clone().unwrap()));
            }
        }
    }
    routes
}

/// `(METHOD, path)` of every row of the route table in src/routes.rs, with
/// `{dataset}` standing for each dataset pulled (GET), written (POST
/// `/api/{dataset}`) or deleted from (the delete routes).
fn table_routes() -> std::collections::BTreeSet<(String, String)> {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes.rs")).unwrap();
    source
        .lines()
        .filter_map(|line| line.strip_prefix("//! | "))
        .filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let path = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((cells[0].to_string(), path.to_string()))
        })
        .flat_map(|(method, path)| {
            if !path.contains("{dataset}") {
                return vec![(method, path)];
            }
            Dataset::all()
                .filter(|d| match (method.as_str(), path.as_str()) {
                    ("GET", _) => d.is_pullable(),
                    (_, "/api/{dataset}") => d.is_pushable(),
                    _ => d.is_deletable(),
                })
                .map(|d| (method.clone(), path.replace("{dataset}", d.name())))
                .collect()
        })
        .collect()
}

/// The route table, openapi.yaml and the running server agree: every
/// operation in the spec is served, every route served is in the spec, and
/// every other method on a known path is a 405.
#[actix_web::test]
async fn the_spec_the_route_table_and_the_server_agree() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let routes = spec_routes(&spec);
    assert_eq!(
        routes,
        table_routes(),
        "openapi.yaml against the table in src/routes.rs"
    );
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let paths: std::collections::BTreeSet<&String> = routes.iter().map(|(_, p)| p).collect();
    for path in paths {
        // A path parameter the server must recognise: one of the page's assets.
        let served = path.replace("{file}", "app.js");
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let response = app
                .request(method.parse().unwrap(), &served)
                .bearer_auth(&app.write_key)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            if routes.contains(&(method.to_string(), path.clone())) {
                // A delete of the path's literal `{id}` finds no row: a 404
                // of its own, not a missing route.
                let code = response
                    .json::<serde_json::Value>()
                    .await
                    .map(|body| body["code"].clone())
                    .unwrap_or_default();
                assert!(
                    status != 405 && (status != 404 || code == "row_not_found"),
                    "{method} {path}: {status} {code}, but the spec has it"
                );
            } else if routes.contains(&(method.to_string(), row_path(path))) {
                // `DELETE /api/users/count` is `/api/users/{id}` with the id
                // `count`: a delete, which finds no such row.
                assert_ne!(status, 405, "{method} {path} is {}", row_path(path));
            } else {
                assert_eq!(status, 405, "{method} {path} is served but not in the spec");
            }
        }
    }
}

/// A count's path as the row path it shares its resource with:
/// `/api/<dataset>/count` is `/api/<dataset>/{id}` (`/deletions` is not:
/// it has a resource of its own).
fn row_path(path: &str) -> String {
    match path
        .strip_prefix("/api/")
        .and_then(|p| p.strip_suffix("/count"))
    {
        Some(dataset) if !dataset.contains('/') => format!("/api/{dataset}/{{id}}"),
        _ => String::new(),
    }
}

/// Every error code the server answers with is listed, with its status, in
/// openapi.yaml's `Problem` schema and in docs/bad-input.md's table, and nothing else is.
#[test]
fn every_error_code_is_listed_in_openapi_yaml_and_the_docs() {
    use hourglass::error::PROBLEMS;
    let codes: Vec<&str> = PROBLEMS.iter().map(|p| p.code).collect();
    let spec = include_str!("../../openapi.yaml");
    let problem = &spec[spec.find("\n    Problem:\n").unwrap()..];
    let code = &problem[problem.find("\n        code:\n").unwrap()..];
    let listed: Vec<&str> = code
        .lines()
        .find_map(|line| line.trim().strip_prefix("enum: ["))
        .and_then(|list| list.strip_suffix(']'))
        .unwrap()
        .split(", ")
        .collect();
    assert_eq!(listed, codes, "openapi.yaml's Problem.code enum");
    let page = include_str!("../../docs/bad-input.md");
    let errors = &page[page.find("\n## Errors\n").unwrap() + 1..];
    let errors = &errors[..errors.find("\n## ").unwrap_or(errors.len())];
    let rows: Vec<(String, u16)> = errors
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let status = cells.get(2)?.parse().ok()?;
            Some((code.to_string(), status))
        })
        .collect();
    let wanted: Vec<(String, u16)> = PROBLEMS
        .iter()
        .map(|p| (p.code.to_string(), p.status))
        .collect();
    assert_eq!(
        rows, wanted,
        "docs/bad-input.md's error table (code, status), in order"
    );
}
