#pragma once
// A small RAII wrapper over the SQLite C API (Debian's libsqlite3): a connection, prepared
// statements with typed binds and columns, and transactions. Every failing call throws
// std::runtime_error naming the database and SQLite's message.
#include <cstdint>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace mpsim::sweep {

class Statement;

class Database {
public:
  /// Opens (creating when absent) the database file; WAL mode, a busy timeout so that readers
  /// (the sqlite3 shell, pandas) can use it while a sweep writes.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  Statement prepare(const std::string& sql);
  int64_t lastInsertId() const;
  int changes() const;
  const std::string& path() const { return m_path; }
  [[noreturn]] void fail(const std::string& what) const;

private:
  friend class Statement;
  sqlite3* m_db = nullptr;
  std::string m_path;
};

class Statement {
public:
  Statement(Database& db, const std::string& sql);
  ~Statement();
  Statement(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  /// Binds are 1-based, as in SQLite.
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, const std::string& v);
  Statement& bindNull(int i);
  /// Steps once: true when a row is available.
  bool step();
  /// Steps to the end (for statements without rows) and resets for the next binds.
  void run();
  void reset();

  int columns() const;
  bool isNull(int col) const;
  int64_t getInt(int col) const;
  double getDouble(int col) const;
  std::string getText(int col) const;
  std::string columnName(int col) const;
  /// SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  int type(int col) const;

private:
  Database* m_db;
  sqlite3_stmt* m_st = nullptr;
};

/// BEGIN IMMEDIATE .. COMMIT; rolled back when destroyed without commit() (an exception).
class Transaction {
public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

private:
  Database& m_db;
  bool m_done = false;
};

/// A name quoted as an SQL identifier ("a.b" -> "\"a.b\"").
std::string quoteIdent(const std::string& name);

} // namespace mpsim::sweep
