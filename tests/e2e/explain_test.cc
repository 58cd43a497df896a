// EXPLAIN (FORMAT JSON) of every statement the service prepares, on the
// seeded e2e database (100,000 users, ~3M user_exercises), under both the
// custom and the generic plan (a prepared statement switches to the generic
// one after five executions): index scans, no Seq Scan on users or
// user_exercises, no Sort above a keyset scan.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/pg_repository.h"
#include "gtest/gtest.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

struct PlanNode {
  std::string type;
  std::string relation;
  std::string index;
};

void Flatten(const Struct& plan, int depth, std::vector<PlanNode>* nodes,
             std::string* shape) {
  const auto& f = plan.fields();
  PlanNode node;
  node.type = f.at("Node Type").string_value();
  if (f.count("Relation Name"))
    node.relation = f.at("Relation Name").string_value();
  if (f.count("Index Name")) node.index = f.at("Index Name").string_value();
  absl::StrAppend(shape, std::string(2 * depth, ' '), node.type,
                  node.index.empty() ? "" : " using " + node.index,
                  node.relation.empty() ? "" : " on " + node.relation, "\n");
  nodes->push_back(node);
  if (f.count("Plans")) {
    for (const Value& child : f.at("Plans").list_value().values()) {
      Flatten(child.struct_value(), depth + 1, nodes, shape);
    }
  }
}

struct Case {
  std::string statement;
  std::string arguments;  // SQL literals for EXECUTE
  bool keyset_list;       // a paged list: no Sort allowed
  std::string main_relation;
};

class ExplainTest : public ::testing::TestWithParam<Case> {};

// A statement's SQL by name; "<name>__batch" is its batch form.
std::string StatementSql(const std::string& name) {
  for (const db::StatementSpec& s : db::PgRepository::Statements()) {
    if (s.name == name) return s.sql;
    if (!s.batch_sql.empty() && s.name + "__batch" == name) return s.batch_sql;
  }
  ADD_FAILURE() << "no statement " << name;
  return "";
}

TEST_P(ExplainTest, UsesIndexesWithoutSeqScanOrSort) {
  const Case& c = GetParam();
  pqxx::connection connection(E2eDatabaseUrl());
  pqxx::nontransaction tx(connection);
  {
    const int64_t users =
        tx.exec1("SELECT count(*) FROM users")[0].as<int64_t>();
    ASSERT_GE(users, 100000) << "e2e database is not seeded at scale";
  }
  tx.exec0("PREPARE s AS " + StatementSql(c.statement));
  for (const std::string mode : {"force_custom_plan", "force_generic_plan"}) {
    tx.exec0(absl::StrCat("SET plan_cache_mode = ", mode));
    const std::string json =
        tx.exec1("EXPLAIN (FORMAT JSON) EXECUTE s(" + c.arguments + ")")[0]
            .c_str();
    google::protobuf::ListValue plans;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &plans).ok())
        << json;
    std::vector<PlanNode> nodes;
    std::string shape;
    Flatten(plans.values(0).struct_value().fields().at("Plan").struct_value(),
            0, &nodes, &shape);
    std::cout << c.statement << " (" << mode << "):\n" << shape;
    bool indexed_main = false;
    for (const PlanNode& node : nodes) {
      EXPECT_FALSE(
          node.type == "Seq Scan" &&
          (node.relation == "users" || node.relation == "user_exercises"))
          << shape;
      if (c.keyset_list) {
        EXPECT_NE(node.type, "Sort") << shape;
        EXPECT_NE(node.type, "Incremental Sort") << shape;
      }
      if (node.relation == c.main_relation &&
          (node.type == "Index Scan" || node.type == "Index Only Scan")) {
        indexed_main = true;
      }
    }
    EXPECT_TRUE(indexed_main) << "no index scan on " << c.main_relation << "\n"
                              << shape;
    if (c.statement == "activity") {
      bool index_only = false;
      for (const PlanNode& node : nodes) {
        if (node.type == "Index Only Scan" &&
            node.index == "ix_user_exercises_completed_user_created") {
          index_only = true;
        }
      }
      EXPECT_TRUE(index_only) << shape;
    }
  }
  tx.exec0("DEALLOCATE s");
}

std::string HundredIds() {
  std::vector<int> ids;
  for (int i = 1; i <= 100; ++i) ids.push_back(i * 997);
  return absl::StrCat("'{", absl::StrJoin(ids, ","), "}'");
}

INSTANTIATE_TEST_SUITE_P(
    Statements, ExplainTest,
    ::testing::Values(
        Case{"active_users", "0, 51", true, "users"},
        Case{"active_users", "50000, 1001", true, "users"},
        Case{"active_users_by_role", "'admin', 0, 51", true, "users"},
        Case{"active_users_by_role", "'student', 50000, 51", true, "users"},
        Case{"active_users_pending", "0, 51", true, "users"},
        Case{"active_users_by_role_pending", "'admin', 0, 51", true, "users"},
        Case{"users_by_role", "'admin', 0, 51", true, "users"},
        Case{"users_by_role", "'instructor', 40000, 1001", true, "users"},
        Case{"user_role", "12345", false, "users"},
        Case{"user_role__batch", HundredIds(), false, "users"},
        Case{"exercises", "'easy', 0, 51", true, "exercises"},
        Case{"exercises_by_language", "'hard', 'rust', 0, 51", true,
             "exercises"},
        Case{"streak", "4242, 'America/New_York', now()", false,
             "user_exercises"},
        Case{"streak__batch",
             "'{4242,17,99}', '{America/New_York,UTC,Asia/Kolkata}',"
             " ARRAY[now(), now() - interval '1 day', now()]",
             false, "user_exercises"},
        Case{"activity", "'{4242}', 'America/New_York', now()", false,
             "user_exercises"},
        Case{"activity", HundredIds() + ", 'Asia/Kolkata', now()", false,
             "user_exercises"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return absl::StrCat(info.param.statement, "_", info.index);
    });

}  // namespace
}  // namespace tutoring::testing
