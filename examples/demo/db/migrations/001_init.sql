CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL);
INSERT INTO orders (customer, total_cents) VALUES ('ada', 1299), ('grace', 4550), ('linus', 999);
