-- Relays reached over plain HTTP (labs and loopback only); existing relays stay HTTPS.
ALTER TABLE "relays" ADD "InsecureHttp" INTEGER NOT NULL DEFAULT 0;
