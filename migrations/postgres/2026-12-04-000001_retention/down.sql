DROP TABLE retention_horizons;
