CREATE TABLE "api_keys" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_api_keys" PRIMARY KEY AUTOINCREMENT,
    "Prefix" TEXT NOT NULL,
    "Hash" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "ExpiresAt" INTEGER NOT NULL,
    "LastUsed" INTEGER NULL
);


CREATE TABLE "policy" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_policy" PRIMARY KEY,
    "Text" TEXT NOT NULL,
    "UpdatedAt" INTEGER NOT NULL
);


CREATE TABLE "relays" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_relays" PRIMARY KEY AUTOINCREMENT,
    "RegionId" INTEGER NOT NULL,
    "RegionCode" TEXT NOT NULL,
    "RegionName" TEXT NOT NULL,
    "HostName" TEXT NOT NULL,
    "IPv4" TEXT NULL,
    "IPv6" TEXT NULL,
    "Port" INTEGER NOT NULL,
    "StunPort" INTEGER NOT NULL
);


CREATE TABLE "schema_versions" (
    "Version" INTEGER NOT NULL CONSTRAINT "PK_schema_versions" PRIMARY KEY,
    "Name" TEXT NOT NULL,
    "AppliedAt" INTEGER NOT NULL
);


CREATE TABLE "users" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_users" PRIMARY KEY AUTOINCREMENT,
    "Login" TEXT NOT NULL,
    "DisplayName" TEXT NOT NULL,
    "Provider" TEXT NOT NULL,
    "Subject" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL
);


CREATE TABLE "auth_keys" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_auth_keys" PRIMARY KEY AUTOINCREMENT,
    "Prefix" TEXT NOT NULL,
    "Hash" TEXT NOT NULL,
    "UserId" INTEGER NOT NULL,
    "Reusable" INTEGER NOT NULL,
    "Ephemeral" INTEGER NOT NULL,
    "Tags" TEXT NOT NULL,
    "ExpiresAt" INTEGER NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UseCount" INTEGER NOT NULL,
    "Revoked" INTEGER NOT NULL,
    CONSTRAINT "FK_auth_keys_users_UserId" FOREIGN KEY ("UserId") REFERENCES "users" ("Id") ON DELETE RESTRICT
);


CREATE TABLE "nodes" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_nodes" PRIMARY KEY AUTOINCREMENT,
    "StableId" TEXT NOT NULL,
    "Name" TEXT NOT NULL,
    "Hostname" TEXT NOT NULL,
    "UserId" INTEGER NOT NULL,
    "MachineKey" TEXT NOT NULL,
    "NodeKey" TEXT NOT NULL,
    "DiscoKey" TEXT NULL,
    "IPv4" TEXT NOT NULL,
    "IPv6" TEXT NOT NULL,
    "Tags" TEXT NOT NULL,
    "Endpoints" TEXT NOT NULL,
    "HomeRelay" INTEGER NOT NULL,
    "Approved" INTEGER NOT NULL,
    "Ephemeral" INTEGER NOT NULL,
    "KeyExpiry" INTEGER NULL,
    "Expired" INTEGER NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "LastSeen" INTEGER NULL,
    "AuthKeyId" INTEGER NULL,
    CONSTRAINT "FK_nodes_users_UserId" FOREIGN KEY ("UserId") REFERENCES "users" ("Id") ON DELETE RESTRICT
);


CREATE UNIQUE INDEX "IX_api_keys_Prefix" ON "api_keys" ("Prefix");


CREATE UNIQUE INDEX "IX_auth_keys_Prefix" ON "auth_keys" ("Prefix");


CREATE INDEX "IX_auth_keys_UserId" ON "auth_keys" ("UserId");


CREATE UNIQUE INDEX "IX_nodes_IPv4" ON "nodes" ("IPv4");


CREATE UNIQUE INDEX "IX_nodes_IPv6" ON "nodes" ("IPv6");


CREATE UNIQUE INDEX "IX_nodes_MachineKey" ON "nodes" ("MachineKey");


CREATE UNIQUE INDEX "IX_nodes_Name" ON "nodes" ("Name");


CREATE UNIQUE INDEX "IX_nodes_NodeKey" ON "nodes" ("NodeKey");


CREATE UNIQUE INDEX "IX_nodes_StableId" ON "nodes" ("StableId");


CREATE INDEX "IX_nodes_UserId" ON "nodes" ("UserId");


CREATE UNIQUE INDEX "IX_relays_RegionId_HostName" ON "relays" ("RegionId", "HostName");


CREATE UNIQUE INDEX "IX_users_Login" ON "users" ("Login");


