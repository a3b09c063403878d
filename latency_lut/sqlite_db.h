// A thin RAII layer over SQLite's C API: open a file, run statements with bound parameters only
// (never string-built SQL), step through rows, and scope transactions. Errors become dnas::Error
// naming the database file and SQLite's own message.
#pragma once

#include <cstdint>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace dnas {

class SqliteStatement;

class SqliteDb {
 public:
  // Opens (creating if `create`) the file; sets a busy timeout so concurrent writers wait.
  SqliteDb(const std::string& path, bool create);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs SQL without parameters or results (schema, pragmas, BEGIN/COMMIT).
  void exec(const std::string& sql);
  SqliteStatement prepare(const std::string& sql);
  int64_t last_insert_id() const;
  bool in_transaction() const;
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  friend class SqliteStatement;
  sqlite3* db_ = nullptr;
  std::string path_;
};

class SqliteStatement {
 public:
  SqliteStatement(SqliteDb& db, const std::string& sql);
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based, as in SQLite.
  SqliteStatement& bind(int index, int64_t value);
  SqliteStatement& bind(int index, double value);
  SqliteStatement& bind(int index, const std::string& value);
  // True while a row is available; false when done.
  bool step();
  // Steps a statement that returns no rows.
  void run();
  void reset();

  int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;
  bool column_is_number(int index) const;  // stored as INTEGER or REAL (not text, blob or NULL)

 private:
  SqliteDb* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction (taking the write lock up front, so two writers queue instead
// of deadlocking), ROLLBACK on destruction unless commit() was called. Inside an open
// transaction it becomes a SAVEPOINT, so writers compose into one outer atomic unit.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  void commit();

 private:
  SqliteDb& db_;
  bool nested_ = false;
  bool done_ = false;
};

}  // namespace dnas
