// The syntax tree of a parsed template (parser.h makes it, interpreter.h runs it).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/jinja/value.h"

namespace droplora::data::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
    Const,     // value
    Name,      // name
    List,      // children
    Tuple,     // children
    Dict,      // children: key, value, key, value, …
    GetAttr,   // children[0] . name
    GetItem,   // children[0] [ children[1] ]
    Slice,     // children[0] [ children[1] : children[2] : children[3] ] (null = omitted)
    Call,      // children[0] ( children[1..] ) with keyword names in `keywords` for the last ones
    Filter,    // children[0] | name ( children[1..] )
    Test,      // children[0] is [not] name ( children[1..] )
    Neg,       // - children[0]
    Pos,       // + children[0]
    Not,       // not children[0]
    And,       // children[0] and children[1]
    Or,        // children[0] or children[1]
    Binary,    // children[0] op children[1]: + - * / // % ** ~
    Compare,   // children[0] (ops[i] children[i+1])…: == != < > <= >= in notin
    CondExpr,  // children[1] if children[0] else children[2] (null = undefined)
};

struct Expr {
    ExprKind kind = ExprKind::Const;
    int line = 1;
    Value value;
    std::string name;                // Name, GetAttr, Filter, Test, Binary operator
    std::vector<ExprPtr> children;   // may hold null (Slice, CondExpr)
    std::vector<std::string> ops;    // Compare
    std::vector<std::string> keywords;  // Call/Filter/Test: names of the trailing keyword arguments
    bool negated = false;            // Test

    Expr() = default;
    Expr(const Expr&) = delete;
    Expr& operator=(const Expr&) = delete;
    // Iterative: a long chain (1 + 1 + 1 + … in a template from the internet)
    // would otherwise recurse once per node while it is destroyed.
    ~Expr() {
        std::vector<ExprPtr> pending;
        for (auto& c : children)
            if (c) pending.push_back(std::move(c));
        while (!pending.empty()) {
            ExprPtr e = std::move(pending.back());
            pending.pop_back();
            for (auto& c : e->children)
                if (c) pending.push_back(std::move(c));
        }
    }
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind { Output, Print, If, For, Set, SetBlock, Macro, Break, Continue, Block };

struct Stmt {
    StmtKind kind = StmtKind::Output;
    int line = 1;
    std::string text;                  // Output: the data; Set/SetBlock/Macro: the name
    std::string attr;                  // Set: "ns.attr" target's attribute
    std::vector<std::string> targets;  // For/Set: names (more than one: tuple unpacking)
    std::vector<ExprPtr> exprs;        // Print: [expr]; If: conditions; For: [iter, cond?]; Set: [value]
                                       // Macro: defaults (null where none)
    std::vector<Body> bodies;          // If: one per condition (+ else); For: [body, else]; Block: [body]
    bool has_else = false;             // If, For
    bool recursive = false;            // For
};

struct Template {
    std::string name;
    Body body;
};

}  // namespace droplora::data::jinja
