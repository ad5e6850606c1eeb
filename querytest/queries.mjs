// queries.mjs: runs the DuckDB SQL of docs/access.md ("### DuckDB" to the
// end of "SMDE's session analysis in SQL") against an export directory,
// in one DuckDB connection whose working directory holds it as export/,
// and prints, as JSON, each block's statements' rows. internal/node's
// TestDocumentedQueries runs it and checks the answers.
//
// Usage: node queries.mjs <docs/access.md> <dir holding export/>
import fs from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [doc, dir] = process.argv.slice(2);
const text = fs.readFileSync(doc, 'utf8');
const start = text.indexOf('### DuckDB');
const end = text.indexOf('\n## ', start);
if (start < 0 || end < 0) throw new Error('no "### DuckDB" section in ' + doc);
const blocks = [...text.slice(start, end).matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
process.chdir(dir);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const out = [];
for (const sql of blocks) {
  const stmts = await con.extractStatements(sql);
  const results = [];
  for (let i = 0; i < stmts.count; i++) {
    const p = await stmts.prepare(i);
    const r = await p.runAndReadAll();
    results.push(r.getRowObjectsJson());
  }
  out.push(results);
}
process.stdout.write(JSON.stringify(out));
