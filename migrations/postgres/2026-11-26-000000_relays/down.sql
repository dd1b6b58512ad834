DROP TABLE relay_dead_letters;
DROP TABLE relay_scores;
DROP TABLE relays;
