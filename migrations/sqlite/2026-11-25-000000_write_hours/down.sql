DROP TABLE write_hours;
