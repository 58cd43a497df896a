#include "tests/db/catalog.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace tutoring::testing {
namespace {

constexpr char kRelations[] = R"sql(
SELECT c.relname, c.relkind
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind <> 'i'
  AND c.relname <> 'schema_migrations'
ORDER BY 1)sql";

constexpr char kColumns[] = R"sql(
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity,
       a.attgenerated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND c.relname <> 'schema_migrations'
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum)sql";

constexpr char kEnums[] = R"sql(
SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typnamespace = 'public'::regnamespace
GROUP BY t.typname
ORDER BY 1)sql";

constexpr char kIndexes[] = R"sql(
SELECT ci.relname, pg_get_indexdef(i.indexrelid), i.indisvalid
FROM pg_index i
JOIN pg_class ci ON ci.oid = i.indexrelid
JOIN pg_class ct ON ct.oid = i.indrelid
WHERE ct.relnamespace = 'public'::regnamespace
  AND ct.relname <> 'schema_migrations'
ORDER BY 1)sql";

constexpr char kConstraints[] = R"sql(
SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
FROM pg_constraint con
LEFT JOIN pg_class c ON c.oid = con.conrelid
WHERE con.connamespace = 'public'::regnamespace
  AND c.relname IS DISTINCT FROM 'schema_migrations'
ORDER BY 1, 2)sql";

constexpr char kPublicObjects[] = R"sql(
SELECT 'relation ' || relname FROM pg_class
WHERE relnamespace = 'public'::regnamespace
  AND relname NOT IN ('schema_migrations', 'schema_migrations_pkey')
UNION ALL
SELECT 'type ' || typname FROM pg_type
WHERE typnamespace = 'public'::regnamespace
  AND typname NOT IN ('schema_migrations', '_schema_migrations')
UNION ALL
SELECT 'function ' || proname FROM pg_proc
WHERE pronamespace = 'public'::regnamespace
ORDER BY 1)sql";

constexpr char kIndexColumns[] = R"sql(
SELECT ci.relname, ct.relname, string_agg(a.attname, ',' ORDER BY k.ord)
FROM pg_index i
JOIN pg_class ci ON ci.oid = i.indexrelid
JOIN pg_class ct ON ct.oid = i.indrelid
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE ct.relnamespace = 'public'::regnamespace
GROUP BY ci.relname, ct.relname
ORDER BY 1)sql";

constexpr char kAppliedVersions[] = R"sql(
SELECT version FROM schema_migrations ORDER BY version)sql";

}  // namespace

std::vector<std::string> QueryRows(const std::string& url,
                                   const std::string& sql) {
  std::vector<std::string> rows;
  try {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    for (const pqxx::row& row : tx.exec(sql)) {
      std::vector<std::string> fields;
      for (const pqxx::field& field : row) {
        fields.push_back(field.is_null() ? "NULL" : field.c_str());
      }
      rows.push_back(absl::StrJoin(fields, " | "));
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "query failed: " << e.what() << "\n" << sql;
    return {};
  }
  return rows;
}

std::string DumpSchema(const std::string& url) {
  std::string dump;
  for (const auto& [title, sql] :
       {std::pair("relations", kRelations), std::pair("columns", kColumns),
        std::pair("enums", kEnums), std::pair("indexes", kIndexes),
        std::pair("constraints", kConstraints)}) {
    absl::StrAppend(&dump, "-- ", title, "\n",
                    absl::StrJoin(QueryRows(url, sql), "\n"), "\n");
  }
  return dump;
}

std::vector<std::string> PublicObjectsBesidesBookkeeping(
    const std::string& url) {
  return QueryRows(url, kPublicObjects);
}

std::vector<std::string> IndexColumns(const std::string& url) {
  return QueryRows(url, kIndexColumns);
}

std::vector<std::string> AppliedVersions(const std::string& url) {
  if (!RelationExists(url, "schema_migrations")) return {};
  return QueryRows(url, kAppliedVersions);
}

bool RelationExists(const std::string& url, const std::string& name) {
  const std::vector<std::string> rows = QueryRows(
      url, absl::StrCat("SELECT to_regclass('public.", name, "') IS NOT NULL"));
  return rows == std::vector<std::string>{"t"};
}

}  // namespace tutoring::testing
