// drizzle-kit: generates the PostgreSQL engine's migrations in migrations/postgres/ from its
// schema files in server/storage/postgres/schema/ (one file per concern):
// `npx drizzle-kit generate --config drizzle.postgres.config.ts`; triggers are custom
// migrations (`... generate --custom --name X`). Never edit a committed migration.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './server/storage/postgres/schema/*.ts',
  out: './migrations/postgres',
});
