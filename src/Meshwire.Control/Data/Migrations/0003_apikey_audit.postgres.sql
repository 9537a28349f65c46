-- API keys get a label, their creator (an admin or another API key) and a revocation time; existing keys were
-- created by an admin and stay live.
ALTER TABLE api_keys ADD "Name" text NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD "CreatedBy" text NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD "CreatedByKeyId" bigint NULL;
ALTER TABLE api_keys ADD "RevokedAt" timestamp with time zone NULL;
