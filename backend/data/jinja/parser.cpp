#include "data/jinja/parser.h"

#include <algorithm>
#include <initializer_list>

#include "common/error.h"
#include "data/jinja/lexer.h"

namespace droplora::data::jinja {
namespace {

ExprPtr make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
}

class Parser {
public:
    Parser(std::vector<Token> tokens, std::string name) : t_(std::move(tokens)), name_(std::move(name)) {}

    Body parse_all() {
        Body body = subparse({});
        if (cur().type != Tok::Eof) error_at(cur().line, "unexpected '" + cur().text + "'");
        return body;
    }

private:
    const Token& cur() const { return t_[i_]; }
    const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
    void next() {
        if (i_ + 1 < t_.size()) ++i_;
    }

    [[noreturn]] void error_at(int line, const std::string& what) const {
        fail(name_ + ":" + std::to_string(line), what);
    }

    // Brackets, blocks and prefix operators nest by recursion here; a template
    // is untrusted input, so the depth is bounded (real templates nest < 10).
    static constexpr int kMaxNesting = 100;
    struct Nest {
        Parser& p;
        explicit Nest(Parser& parser) : p(parser) {
            if (++p.depth_ > kMaxNesting)
                p.error_at(p.cur().line, "nests deeper than " + std::to_string(kMaxNesting) + " levels");
        }
        ~Nest() { --p.depth_; }
    };

    static std::string describe(const Token& t) {
        switch (t.type) {
            case Tok::Eof:
                return "the end of the template";
            case Tok::BlockEnd:
                return "'%}'";
            case Tok::VarEnd:
                return "'}}'";
            case Tok::String:
                return "a string";
            case Tok::Data:
                return "text";
            default:
                return "'" + t.text + "'";
        }
    }

    bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
    bool is_name(const char* n) const { return cur().type == Tok::Name && cur().text == n; }
    bool skip_op(const char* op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool skip_name(const char* n) {
        if (!is_name(n)) return false;
        next();
        return true;
    }
    void expect_op(const char* op) {
        if (!skip_op(op)) error_at(cur().line, std::string("expected '") + op + "', found " + describe(cur()));
    }
    std::string expect_name() {
        if (cur().type != Tok::Name) error_at(cur().line, "expected a name, found " + describe(cur()));
        std::string n = cur().text;
        next();
        return n;
    }
    void expect_block_end() {
        if (cur().type != Tok::BlockEnd) error_at(cur().line, "expected '%}', found " + describe(cur()));
        next();
    }

    // Statements up to a block tag named in `ends` (left unconsumed: at its name).
    Body subparse(std::initializer_list<const char*> ends) {
        const Nest nest(*this);
        Body body;
        for (;;) {
            const Token& t = cur();
            if (t.type == Tok::Eof) {
                if (ends.size() != 0) {
                    std::string names;
                    for (const char* e : ends) names += std::string(names.empty() ? "" : " or ") + "'{% " + e + " %}'";
                    error_at(t.line, "unexpected end of template: an open tag needs " + names);
                }
                return body;
            }
            if (t.type == Tok::Data) {
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::Output;
                s->line = t.line;
                s->text = t.text;
                body.push_back(std::move(s));
                next();
            } else if (t.type == Tok::VarBegin) {
                next();
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::Print;
                s->line = cur().line;
                s->exprs.push_back(parse_tuple(true));
                if (cur().type != Tok::VarEnd) error_at(cur().line, "expected '}}', found " + describe(cur()));
                next();
                body.push_back(std::move(s));
            } else if (t.type == Tok::BlockBegin) {
                const Token& n = peek();
                if (n.type != Tok::Name) error_at(n.line, "expected a tag name after '{%'");
                for (const char* e : ends) {
                    if (n.text == e) {
                        next();  // now at the name
                        return body;
                    }
                }
                next();
                body.push_back(statement());
            } else {
                error_at(t.line, "unexpected " + describe(t));
            }
        }
    }

    StmtPtr statement() {
        const Token& t = cur();
        const std::string kw = t.text;
        const int line = t.line;
        auto s = std::make_unique<Stmt>();
        s->line = line;
        next();
        if (kw == "if") {
            s->kind = StmtKind::If;
            s->exprs.push_back(parse_expression());
            expect_block_end();
            for (;;) {
                s->bodies.push_back(subparse({"elif", "else", "endif"}));
                const std::string end = cur().text;
                next();
                if (end == "elif") {
                    s->exprs.push_back(parse_expression());
                    expect_block_end();
                } else if (end == "else") {
                    expect_block_end();
                    s->bodies.push_back(subparse({"endif"}));
                    next();
                    expect_block_end();
                    s->has_else = true;
                    break;
                } else {
                    expect_block_end();
                    break;
                }
            }
        } else if (kw == "for") {
            s->kind = StmtKind::For;
            s->targets.push_back(expect_name());
            while (skip_op(",")) s->targets.push_back(expect_name());
            if (!skip_name("in")) error_at(cur().line, "expected 'in' in the for tag, found " + describe(cur()));
            s->exprs.push_back(parse_tuple(false));
            if (skip_name("if")) s->exprs.push_back(parse_expression());
            if (is_name("recursive")) error_at(cur().line, "recursive for loops are not supported");
            expect_block_end();
            s->bodies.push_back(subparse({"endfor", "else"}));
            if (cur().text == "else") {
                next();
                expect_block_end();
                s->bodies.push_back(subparse({"endfor"}));
                s->has_else = true;
            } else {
                s->bodies.emplace_back();
            }
            next();
            expect_block_end();
        } else if (kw == "set") {
            s->text = expect_name();
            if (skip_op(".")) {
                s->attr = expect_name();
            } else {
                s->targets.push_back(s->text);
                while (skip_op(",")) s->targets.push_back(expect_name());
            }
            if (skip_op("=")) {
                s->kind = StmtKind::Set;
                s->exprs.push_back(parse_tuple(true));
                expect_block_end();
            } else {
                if (!s->attr.empty() || s->targets.size() != 1)
                    error_at(line, "a block set assigns one plain name");
                if (is_op("|")) error_at(line, "filters on a block set are not supported");
                s->kind = StmtKind::SetBlock;
                expect_block_end();
                s->bodies.push_back(subparse({"endset"}));
                next();
                expect_block_end();
            }
        } else if (kw == "macro") {
            s->kind = StmtKind::Macro;
            s->text = expect_name();
            expect_op("(");
            while (!is_op(")")) {
                if (!s->targets.empty()) expect_op(",");
                s->targets.push_back(expect_name());
                s->exprs.push_back(skip_op("=") ? parse_expression() : nullptr);
            }
            next();
            expect_block_end();
            s->bodies.push_back(subparse({"endmacro"}));
            next();
            expect_block_end();
        } else if (kw == "break" || kw == "continue") {
            s->kind = kw == "break" ? StmtKind::Break : StmtKind::Continue;
            expect_block_end();
        } else if (kw == "generation") {
            // transformers' AssistantTracker marks assistant text; the rendered text is unchanged.
            s->kind = StmtKind::Block;
            expect_block_end();
            s->bodies.push_back(subparse({"endgeneration"}));
            next();
            expect_block_end();
        } else {
            error_at(line, "unsupported tag '{% " + kw + " %}'");
        }
        return s;
    }

    // expr (',' expr)* — a tuple when a comma follows.
    ExprPtr parse_tuple(bool with_condexpr) {
        const int line = cur().line;
        ExprPtr first = with_condexpr ? parse_expression() : parse_or();
        if (!is_op(",")) return first;
        auto t = make(ExprKind::Tuple, line);
        t->children.push_back(std::move(first));
        while (skip_op(",")) {
            if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || is_op(")")) break;
            t->children.push_back(with_condexpr ? parse_expression() : parse_or());
        }
        return t;
    }

    ExprPtr parse_expression() {
        const Nest nest(*this);
        const int line = cur().line;
        ExprPtr e = parse_or();
        while (skip_name("if")) {
            auto c = make(ExprKind::CondExpr, line);
            ExprPtr cond = parse_or();
            ExprPtr other = skip_name("else") ? parse_expression() : nullptr;
            c->children.push_back(std::move(cond));
            c->children.push_back(std::move(e));
            c->children.push_back(std::move(other));
            e = std::move(c);
        }
        return e;
    }

    ExprPtr binary(ExprKind kind, int line, ExprPtr a, ExprPtr b, std::string op = "") {
        auto e = make(kind, line);
        e->name = std::move(op);
        e->children.push_back(std::move(a));
        e->children.push_back(std::move(b));
        return e;
    }

    ExprPtr parse_or() {
        ExprPtr e = parse_and();
        while (is_name("or")) {
            const int line = cur().line;
            next();
            e = binary(ExprKind::Or, line, std::move(e), parse_and());
        }
        return e;
    }

    ExprPtr parse_and() {
        ExprPtr e = parse_not();
        while (is_name("and")) {
            const int line = cur().line;
            next();
            e = binary(ExprKind::And, line, std::move(e), parse_not());
        }
        return e;
    }

    ExprPtr parse_not() {
        const Nest nest(*this);
        if (is_name("not")) {
            auto e = make(ExprKind::Not, cur().line);
            next();
            e->children.push_back(parse_not());
            return e;
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        const int line = cur().line;
        ExprPtr first = parse_math1();
        auto cmp = make(ExprKind::Compare, line);
        cmp->children.push_back(std::move(first));
        for (;;) {
            if (cur().type == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                          cur().text == ">" || cur().text == "<=" || cur().text == ">=")) {
                cmp->ops.push_back(cur().text);
                next();
            } else if (is_name("in")) {
                cmp->ops.push_back("in");
                next();
            } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
                cmp->ops.push_back("notin");
                next();
                next();
            } else {
                break;
            }
            cmp->children.push_back(parse_math1());
        }
        if (cmp->ops.empty()) return std::move(cmp->children[0]);
        return cmp;
    }

    ExprPtr parse_math1() {
        ExprPtr e = parse_concat();
        while (is_op("+") || is_op("-")) {
            const std::string op = cur().text;
            const int line = cur().line;
            next();
            e = binary(ExprKind::Binary, line, std::move(e), parse_concat(), op);
        }
        return e;
    }

    ExprPtr parse_concat() {
        ExprPtr e = parse_math2();
        while (is_op("~")) {
            const int line = cur().line;
            next();
            e = binary(ExprKind::Binary, line, std::move(e), parse_math2(), "~");
        }
        return e;
    }

    ExprPtr parse_math2() {
        ExprPtr e = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const std::string op = cur().text;
            const int line = cur().line;
            next();
            e = binary(ExprKind::Binary, line, std::move(e), parse_pow(), op);
        }
        return e;
    }

    ExprPtr parse_pow() {
        ExprPtr e = parse_unary(true);
        while (is_op("**")) {
            const int line = cur().line;
            next();
            e = binary(ExprKind::Binary, line, std::move(e), parse_unary(true), "**");
        }
        return e;
    }

    ExprPtr parse_unary(bool with_filter) {
        const Nest nest(*this);
        const int line = cur().line;
        ExprPtr e;
        if (is_op("-") || is_op("+")) {
            const bool neg = is_op("-");
            next();
            e = make(neg ? ExprKind::Neg : ExprKind::Pos, line);
            e->children.push_back(parse_unary(false));
        } else {
            e = parse_primary();
        }
        e = parse_postfix(std::move(e));
        if (with_filter) e = parse_filter_expr(std::move(e));
        return e;
    }

    ExprPtr parse_primary() {
        const Token& t = cur();
        auto e = make(ExprKind::Const, t.line);
        switch (t.type) {
            case Tok::Name:
                if (t.text == "true" || t.text == "True") {
                    e->value = Value(true);
                } else if (t.text == "false" || t.text == "False") {
                    e->value = Value(false);
                } else if (t.text == "none" || t.text == "None") {
                    e->value = Value(nullptr);
                } else {
                    e->kind = ExprKind::Name;
                    e->name = t.text;
                }
                next();
                return e;
            case Tok::String: {
                std::string s = t.text;
                next();
                while (cur().type == Tok::String) {  // adjacent literals join
                    s += cur().text;
                    next();
                }
                e->value = Value(std::move(s));
                return e;
            }
            case Tok::Int:
                e->value = Value(t.int_value);
                next();
                return e;
            case Tok::Float:
                e->value = Value(t.float_value);
                next();
                return e;
            default:
                break;
        }
        if (is_op("(")) {
            next();
            if (skip_op(")")) {
                e->kind = ExprKind::Tuple;
                return e;
            }
            ExprPtr inner = parse_expression();
            if (is_op(",")) {
                auto tup = make(ExprKind::Tuple, t.line);
                tup->children.push_back(std::move(inner));
                while (skip_op(",")) {
                    if (is_op(")")) break;
                    tup->children.push_back(parse_expression());
                }
                inner = std::move(tup);
            }
            expect_op(")");
            return inner;
        }
        if (is_op("[")) {
            next();
            e->kind = ExprKind::List;
            while (!is_op("]")) {
                if (!e->children.empty()) {
                    expect_op(",");
                    if (is_op("]")) break;
                }
                e->children.push_back(parse_expression());
            }
            next();
            return e;
        }
        if (is_op("{")) {
            next();
            e->kind = ExprKind::Dict;
            while (!is_op("}")) {
                if (!e->children.empty()) {
                    expect_op(",");
                    if (is_op("}")) break;
                }
                e->children.push_back(parse_expression());
                expect_op(":");
                e->children.push_back(parse_expression());
            }
            next();
            return e;
        }
        error_at(t.line, "unexpected " + describe(t) + " in an expression");
    }

    ExprPtr parse_postfix(ExprPtr e) {
        for (;;) {
            const int line = cur().line;
            if (is_op(".")) {
                next();
                auto a = make(ExprKind::GetAttr, line);
                if (cur().type == Tok::Name) {
                    a->name = cur().text;
                    a->children.push_back(std::move(e));
                    next();
                    e = std::move(a);
                } else if (cur().type == Tok::Int) {
                    a->kind = ExprKind::GetItem;
                    a->children.push_back(std::move(e));
                    auto k = make(ExprKind::Const, line);
                    k->value = Value(cur().int_value);
                    a->children.push_back(std::move(k));
                    next();
                    e = std::move(a);
                } else {
                    error_at(line, "expected an attribute name after '.', found " + describe(cur()));
                }
            } else if (is_op("[")) {
                next();
                e = parse_subscript(std::move(e), line);
            } else if (is_op("(")) {
                e = parse_call(std::move(e), ExprKind::Call, "");
            } else {
                return e;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr obj, int line) {
        ExprPtr parts[3];
        int n = 0;
        bool slice = false;
        for (;;) {
            if (is_op(":")) {
                slice = true;
                next();
                if (++n > 2) error_at(line, "a slice has at most three parts");
                continue;
            }
            if (is_op("]")) break;
            if (is_op(",")) error_at(line, "tuple subscripts are not supported");
            if (parts[n]) error_at(line, "expected ':' or ']' in a subscript, found " + describe(cur()));
            parts[n] = parse_expression();
        }
        next();
        if (!slice) {
            if (!parts[0]) error_at(line, "empty subscript");
            auto g = make(ExprKind::GetItem, line);
            g->children.push_back(std::move(obj));
            g->children.push_back(std::move(parts[0]));
            return g;
        }
        auto s = make(ExprKind::Slice, line);
        s->children.push_back(std::move(obj));
        for (auto& p : parts) s->children.push_back(std::move(p));
        return s;
    }

    // ( args ) after a callee; for Call the callee is children[0], for
    // Filter/Test the filtered value is.
    ExprPtr parse_call(ExprPtr target, ExprKind kind, std::string name) {
        auto c = make(kind, cur().line);
        c->name = std::move(name);
        c->children.push_back(std::move(target));
        expect_op("(");
        bool first = true;
        while (!is_op(")")) {
            if (!first) {
                expect_op(",");
                if (is_op(")")) break;
            }
            first = false;
            if (is_op("*") || is_op("**")) error_at(cur().line, "*args and **kwargs in calls are not supported");
            if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
                c->keywords.push_back(cur().text);
                next();
                next();
                c->children.push_back(parse_expression());
            } else {
                if (!c->keywords.empty()) error_at(cur().line, "positional argument after a keyword argument");
                c->children.push_back(parse_expression());
            }
        }
        next();
        return c;
    }

    ExprPtr parse_filter_expr(ExprPtr e) {
        for (;;) {
            if (is_op("|")) {
                next();
                std::string name = expect_name();
                while (is_op(".") && peek().type == Tok::Name) {
                    next();
                    name += "." + expect_name();
                }
                if (is_op("(")) {
                    e = parse_call(std::move(e), ExprKind::Filter, name);
                } else {
                    auto f = make(ExprKind::Filter, cur().line);
                    f->name = name;
                    f->children.push_back(std::move(e));
                    e = std::move(f);
                }
            } else if (is_name("is")) {
                next();
                const bool negated = skip_name("not");
                const std::string name = expect_name();
                if (is_op("(")) {
                    e = parse_call(std::move(e), ExprKind::Test, name);
                } else {
                    auto t = make(ExprKind::Test, cur().line);
                    t->name = name;
                    t->children.push_back(std::move(e));
                    const Token& c = cur();
                    const bool arg = (c.type == Tok::Name || c.type == Tok::String || c.type == Tok::Int ||
                                      c.type == Tok::Float || (c.type == Tok::Op && (c.text == "(" || c.text == "[" ||
                                                                                     c.text == "{"))) &&
                                     !(c.type == Tok::Name && (c.text == "else" || c.text == "or" || c.text == "and"));
                    if (arg) {
                        if (is_name("is")) error_at(c.line, "tests cannot be chained with 'is'");
                        t->children.push_back(parse_postfix(parse_primary()));
                    }
                    e = std::move(t);
                }
                e->negated = negated;
            } else if (is_op("(")) {
                e = parse_call(std::move(e), ExprKind::Call, "");
            } else {
                return e;
            }
        }
    }

    std::vector<Token> t_;
    std::string name_;
    size_t i_ = 0;
    int depth_ = 0;  // Nest
};

}  // namespace

Template parse(const std::string& source, const std::string& name) {
    Template t;
    t.name = name;
    t.body = Parser(lex(source, name), name).parse_all();
    return t;
}

}  // namespace droplora::data::jinja
