//! openapi.yaml describes every dataset with the columns the code serves, in order.

use hourglass::datasets::Dataset;

/// The property names of `components.schemas.<schema>`, in file order.
fn properties(spec: &str, schema: &str) -> Vec<String> {
    let mut lines = spec
        .lines()
        .skip_while(|line| *line != format!("    {schema}:"));
    assert!(
        lines.next().is_some(),
        "openapi.yaml has no schema {schema}"
    );
    lines
        .skip_while(|line| *line != "      properties:")
        .skip(1)
        .take_while(|line| line.starts_with("        "))
        .filter_map(|line| {
            line.trim()
                .split_once(':')
                .map(|(name, _)| name.to_string())
        })
        .collect()
}

fn schema_name(dataset: Dataset) -> String {
    dataset
        .name()
        .split('_')
        .map(|part| part[..1].to_uppercase() + &part[1..])
        .collect()
}

#[test]
fn every_dataset_schema_lists_the_served_columns_in_order() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    for dataset in Dataset::ALL {
        let columns = if dataset.is_pullable() {
            dataset.pull_columns()
        } else {
            dataset.push_columns()
        };
        assert_eq!(
            properties(&spec, &schema_name(dataset)),
            columns,
            "{}",
            dataset.name()
        );
    }
}
