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

/// One property of a dataset's schema.
fn property(column: &Column, stamp: bool) -> String {
    let mut attributes = match column.kind {
        Kind::Id => format!("type: string, minLength: 1, maxLength: {MAX_ID_CHARS}"),
        Kind::Text if !column.values.is_empty() => {
            format!("type: string, enum: [{}]", quoted(column.values))
        }
        Kind::Text => "type: string".to_string(),
        Kind::Date => "type: string, format: date, example: '1990-02-03'".to_string(),
        Kind::Int => "type: integer, format: int64".to_string(),
        Kind::Bool => "type: boolean".to_string(),
        Kind::Bit => "type: integer, enum: [0, 1]".to_string(),
        Kind::Time | Kind::Money | Kind::Cents => {
            let schema = if column.kind == Kind::Time {
                "Timestamp"
            } else {
                "Decimal"
            };
            format!("allOf: [{{$ref: '#/components/schemas/{schema}'}}]")
        }
    };
    if stamp {
        attributes.push_str(", readOnly: true");
    } else if !column.required {
        attributes.push_str(", nullable: true");
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

/// The generated block: a schema per dataset, the dataset name enums and
/// the row unions.
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
            yaml.push_str(&property(column, Some(column.name.as_ref()) == def.stamp));
        }
    }
    for (name, pred) in [
        ("PullDataset", Dataset::is_pullable as fn(Dataset) -> bool),
        ("PushDataset", Dataset::is_pushable),
    ] {
        let names: Vec<&str> = Dataset::all()
            .filter(|d| pred(*d))
            .map(Dataset::name)
            .collect();
        write!(
            yaml,
            "    {name}:\n      type: string\n      enum: [{}]\n",
            names.join(", ")
        )
        .unwrap();
    }
    for (name, pred, description) in [
        (
            "PulledRow",
            Dataset::is_pullable as fn(Dataset) -> bool,
            "A row of the dataset in the path.",
        ),
        (
            "PushedRow",
            Dataset::is_pushable,
            "A row of the dataset in the path, without its stamp column.",
        ),
    ] {
        write!(
            yaml,
            "    {name}:\n      description: {description}\n      oneOf:\n"
        )
        .unwrap();
        for dataset in Dataset::all().filter(|d| pred(*d)) {
            writeln!(
                yaml,
                "        - $ref: '#/components/schemas/{}'",
                schema_name(dataset)
            )
            .unwrap();
        }
    }
    yaml.push_str(END);
    yaml
}

#[test]
fn the_dataset_schemas_in_openapi_yaml_follow_the_description() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    let spec = std::fs::read_to_string(path).unwrap();
    let (Some(begin), Some(end)) = (spec.find(BEGIN), spec.find(END)) else {
        panic!("openapi.yaml has no generated block: add the lines\n{BEGIN}\n{END}\nunder components.schemas, then regenerate");
    };
    let current = &spec[begin..end + END.len()];
    let wanted = generated();
    if current == wanted {
        return;
    }
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        let updated = format!("{}{wanted}{}", &spec[..begin], &spec[end + END.len()..]);
        std::fs::write(path, updated).unwrap();
        return;
    }
    let first_difference = current
        .lines()
        .zip(wanted.lines())
        .find(|(a, b)| a != b)
        .map_or("(one is longer)".to_string(), |(a, b)| {
            format!("\n  file: {a}\n  want: {b}")
        });
    panic!(
        "openapi.yaml's dataset schemas differ from src/datasets/defs.rs at {first_difference}\nregenerate them: UPDATE_OPENAPI=1 cargo test --test api openapi"
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

/// `(METHOD, path)` of every row of the route table in src/routes.rs.
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
        let url = format!("{}{}", app.address, path.replace("{dataset}", "users"));
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let response = app
                .client
                .request(method.parse().unwrap(), &url)
                .bearer_auth(&app.write_key)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            if routes.contains(&(method.to_string(), path.clone())) {
                assert!(
                    ![404, 405].contains(&status),
                    "{method} {path}: {status}, but the spec has it"
                );
            } else {
                assert_eq!(status, 405, "{method} {path} is served but not in the spec");
            }
        }
    }
}
