-- Relays reached over plain HTTP (labs and loopback only); existing relays stay HTTPS.
ALTER TABLE relays ADD "InsecureHttp" boolean NOT NULL DEFAULT FALSE;
