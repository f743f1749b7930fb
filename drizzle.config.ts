// drizzle-kit: generates SQL migrations in migrations/ from the schema files in
// server/storage/schema/ (one file per concern). `npm run db:generate` after a schema change.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './server/storage/schema/*.ts',
  out: './migrations',
});
