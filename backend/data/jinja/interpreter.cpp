#include "data/jinja/interpreter.h"

#include <cmath>
#include <limits>
#include <unordered_map>

#include "common/error.h"
#include "data/jinja/builtins.h"

namespace droplora::data::jinja {
namespace {

// The sandbox's limits. A chat template comes with a downloaded model, so one
// that loops for ever or builds a gigabyte string stops with an Error instead.
// Real templates stay far below both (Qwen3's: ~2,000 steps for a long chat).
constexpr uint64_t kMaxValueBytes = uint64_t{16} << 20;
constexpr int64_t kMaxSteps = 2'000'000;  // statements, expressions and loop iterations

// An error that already names the template line (not wrapped again).
class LocatedError : public Error {
public:
    using Error::Error;
};

enum class Flow { Normal, Break, Continue };

using Frame = std::unordered_map<std::string, Value>;

// Python's integers do not overflow; ours are 64-bit, so arithmetic that leaves that range is an error
// (a fuzz finding: 3**334; no real chat template comes near it). `**` squares, so a huge exponent is quick.
[[noreturn]] void integer_overflow(const std::string& op) {
    throw Error("integer overflow in '" + op + "' (the sandbox's integers are 64-bit)");
}
int64_t add_checked(int64_t x, int64_t y, const std::string& op) {
    int64_t r = 0;
    if (__builtin_add_overflow(x, y, &r)) integer_overflow(op);
    return r;
}
int64_t sub_checked(int64_t x, int64_t y, const std::string& op) {
    int64_t r = 0;
    if (__builtin_sub_overflow(x, y, &r)) integer_overflow(op);
    return r;
}
int64_t mul_checked(int64_t x, int64_t y, const std::string& op) {
    int64_t r = 0;
    if (__builtin_mul_overflow(x, y, &r)) integer_overflow(op);
    return r;
}
int64_t pow_checked(int64_t base, int64_t exp) {
    int64_t result = 1;
    while (exp > 0) {
        if (exp & 1) result = mul_checked(result, base, "**");
        exp >>= 1;
        if (exp > 0) base = mul_checked(base, base, "**");  // used by a higher bit: its overflow is the result's
    }
    return result;
}

Value binary_op(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") return Value(a.str() + b.str());
    if (a.is_undefined()) undefined_error(a);
    if (b.is_undefined()) undefined_error(b);
    const bool numbers = a.is_number() && b.is_number();
    const bool floats = numbers && (a.kind() == Kind::Float || b.kind() == Kind::Float);
    const auto unsupported = [&]() -> Value {
        throw Error("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
    };
    if (op == "+") {
        if (numbers) return floats ? Value(a.as_float() + b.as_float()) : Value(add_checked(a.as_int(), b.as_int(), op));
        if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
        if (a.kind() == b.kind() && a.is_sequence_like()) {
            List items = a.items();
            items.insert(items.end(), b.items().begin(), b.items().end());
            return a.kind() == Kind::List ? Value::list(std::move(items)) : Value::tuple(std::move(items));
        }
        return unsupported();
    }
    if (op == "*") {
        if (numbers) return floats ? Value(a.as_float() * b.as_float()) : Value(mul_checked(a.as_int(), b.as_int(), op));
        const Value* seq = a.is_number() ? &b : &a;
        const Value* count = a.is_number() ? &a : &b;
        if (count->kind() != Kind::Int && count->kind() != Kind::Bool) return unsupported();
        const int64_t n = std::max<int64_t>(0, count->as_int());
        const size_t unit = seq->is_string() ? seq->as_string().size() : seq->kind() == Kind::List ? seq->items().size() * 16 : 0;
        if (unit > 0 && static_cast<uint64_t>(n) > kMaxValueBytes / unit)
            throw Error("'*' would make a value of more than 16 MiB (the sandbox's limit)");
        if (seq->is_string()) {
            std::string out;
            for (int64_t i = 0; i < n; ++i) out += seq->as_string();
            return Value(out);
        }
        if (seq->kind() == Kind::List) {
            List out;
            for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq->items().begin(), seq->items().end());
            return Value::list(std::move(out));
        }
        return unsupported();
    }
    if (!numbers) {
        if (op == "%" && a.is_string()) throw Error("printf-style '%' string formatting is not supported");
        return unsupported();
    }
    if (op == "-") return floats ? Value(a.as_float() - b.as_float()) : Value(sub_checked(a.as_int(), b.as_int(), op));
    if (op == "/") {
        if (b.as_float() == 0.0) throw Error("division by zero");
        return Value(a.as_float() / b.as_float());
    }
    if (op == "//" || op == "%") {
        if (b.as_float() == 0.0) throw Error(op == "%" ? "modulo by zero" : "integer division or modulo by zero");
        if (floats) {
            const double x = a.as_float(), y = b.as_float();
            const double q = std::floor(x / y);
            return op == "//" ? Value(q) : Value(x - q * y);
        }
        const int64_t x = a.as_int(), y = b.as_int();
        if (x == std::numeric_limits<int64_t>::min() && y == -1) integer_overflow(op);
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return op == "//" ? Value(q) : Value(x - q * y);
    }
    if (op == "**") {
        if (!floats && b.as_int() >= 0) {
            return Value(pow_checked(a.as_int(), b.as_int()));
        }
        return Value(std::pow(a.as_float(), b.as_float()));
    }
    throw Error("unknown operator " + op);
}

class Interpreter {
public:
    Interpreter(const Template& t, const Dict& variables, const std::tm& now) : t_(t), now_(now) {
        frames_.emplace_back(globals());
        Frame vars;
        for (const auto& kv : variables.items) vars[kv.first] = kv.second;
        frames_.push_back(std::move(vars));
        frames_.emplace_back();  // the template's own top-level names
    }

    std::string run() {
        std::string out;
        const Flow f = exec(t_.body, out);
        if (f != Flow::Normal) fail_at(line_, "break or continue outside a for loop");
        return out;
    }

private:
    [[noreturn]] void fail_at(int line, const std::string& what) const {
        throw LocatedError(t_.name + ":" + std::to_string(line) + ": " + what);
    }

    Frame globals() {
        Frame g;
        g["raise_exception"] = Value::callable("raise_exception", [this](const Args& a) -> Value {
            const std::string msg = a.positional.empty() ? std::string() : a.positional[0].str();
            fail_at(line_, msg);
        });
        g["strftime_now"] = Value::callable("strftime_now", [this](const Args& a) -> Value {
            if (a.positional.size() != 1 || !a.positional[0].is_string())
                throw Error("strftime_now takes one format string");
            std::tm tm = now_;
            char buf[512];
            const size_t n = std::strftime(buf, sizeof buf, a.positional[0].as_string().c_str(), &tm);
            return Value(std::string(buf, n));
        });
        g["namespace"] = Value::callable("namespace", [](const Args& a) {
            Dict d;
            for (const Value& p : a.positional) {
                if (!p.is_mapping()) throw Error("namespace() takes a mapping or keyword arguments");
                for (const auto& kv : p.dict_ref().items) d.set(kv.first, kv.second);
            }
            for (const auto& kv : a.keyword) d.set(kv.first, kv.second);
            return Value::namespace_(std::move(d));
        });
        g["dict"] = Value::callable("dict", [](const Args& a) {
            if (!a.positional.empty()) throw Error("dict() takes keyword arguments only here");
            Dict d;
            for (const auto& kv : a.keyword) d.set(kv.first, kv.second);
            return Value::dict(std::move(d));
        });
        g["range"] = Value::callable("range", [](const Args& a) {
            if (!a.keyword.empty() || a.positional.empty() || a.positional.size() > 3)
                throw Error("range takes one to three integers");
            for (const Value& v : a.positional)
                if (v.kind() != Kind::Int) throw Error("range takes integers");
            int64_t start = 0, stop, step = 1;
            if (a.positional.size() == 1) {
                stop = a.positional[0].as_int();
            } else {
                start = a.positional[0].as_int();
                stop = a.positional[1].as_int();
                if (a.positional.size() == 3) step = a.positional[2].as_int();
            }
            if (step == 0) throw Error("range() arg 3 must not be zero");
            List out;
            for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                out.emplace_back(i);
                if (out.size() > 100000) throw Error("range is too long (the sandbox's limit is 100000)");
            }
            return Value::list(std::move(out));
        });
        return g;
    }

    Value lookup(const std::string& name) const {
        for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
            auto f = it->find(name);
            if (f != it->end()) return f->second;
        }
        return Value::undefined("'" + name + "' is undefined");
    }

    void assign(const Stmt& s, const std::vector<std::string>& targets, const Value& v) {
        if (targets.size() == 1) {
            frames_.back()[targets[0]] = v;
            return;
        }
        if (!v.is_sequence_like()) fail_at(s.line, std::string("cannot unpack a ") + v.type_name() + " into names");
        if (v.items().size() != targets.size())
            fail_at(s.line, "cannot unpack " + std::to_string(v.items().size()) + " values into " +
                                std::to_string(targets.size()) + " names");
        for (size_t i = 0; i < targets.size(); ++i) frames_.back()[targets[i]] = v.items()[i];
    }

    Flow exec(const Body& body, std::string& out) {
        for (const StmtPtr& s : body) {
            const Flow f = exec_located(*s, out);
            if (f != Flow::Normal) return f;
        }
        return Flow::Normal;
    }

    Flow exec_located(const Stmt& s, std::string& out) {
        if (++steps_ > kMaxSteps) fail_at(s.line, "runs more than 2 million steps (the sandbox's limit)");
        try {
            const Flow f = exec(s, out);
            if (out.size() > kMaxValueBytes) fail_at(s.line, "renders more than 16 MiB (the sandbox's limit)");
            return f;
        } catch (const LocatedError&) {
            throw;
        } catch (const Error& e) {
            fail_at(s.line, e.what());
        }
    }

    Flow exec(const Stmt& s, std::string& out) {
        line_ = s.line;
        switch (s.kind) {
            case StmtKind::Output:
                out += s.text;
                return Flow::Normal;
            case StmtKind::Print:
                out += eval(*s.exprs[0]).str();
                return Flow::Normal;
            case StmtKind::If:
                for (size_t i = 0; i < s.exprs.size(); ++i)
                    if (eval(*s.exprs[i]).truthy()) return exec(s.bodies[i], out);
                if (s.has_else) return exec(s.bodies.back(), out);
                return Flow::Normal;
            case StmtKind::For:
                return exec_for(s, out);
            case StmtKind::Set: {
                const Value v = eval(*s.exprs[0]);
                if (s.attr.empty()) {
                    assign(s, s.targets, v);
                    return Flow::Normal;
                }
                const Value ns = lookup(s.text);
                if (ns.kind() != Kind::Namespace) fail_at(s.line, "cannot assign attribute on non-namespace object");
                ns.dict_ref().set(s.attr, v);
                return Flow::Normal;
            }
            case StmtKind::SetBlock: {
                std::string text;
                frames_.emplace_back();
                const Flow f = exec(s.bodies[0], text);
                frames_.pop_back();
                if (f != Flow::Normal) fail_at(s.line, "break or continue inside a block set");
                frames_.back()[s.text] = Value(text);
                return Flow::Normal;
            }
            case StmtKind::Macro:
                frames_.back()[s.text] = macro(s);
                return Flow::Normal;
            case StmtKind::Break:
                return Flow::Break;
            case StmtKind::Continue:
                return Flow::Continue;
            case StmtKind::Block:
                return exec(s.bodies[0], out);
        }
        return Flow::Normal;
    }

    Value macro(const Stmt& s) {
        const Stmt* def = &s;
        return Value::callable(s.text, [this, def](const Args& a) {
            if (a.positional.size() > def->targets.size())
                throw Error("macro '" + def->text + "' takes at most " + std::to_string(def->targets.size()) +
                            " arguments");
            if (++depth_ > 50) throw Error("macro calls nest too deep");
            Frame f;
            for (size_t i = 0; i < def->targets.size(); ++i) {
                Value v = Value::undefined("'" + def->targets[i] + "' is undefined");
                if (i < a.positional.size())
                    v = a.positional[i];
                else if (def->exprs[i])
                    v = eval(*def->exprs[i]);
                f[def->targets[i]] = v;
            }
            for (const auto& kv : a.keyword) {
                bool known = false;
                for (const std::string& t : def->targets) known = known || t == kv.first;
                if (!known) throw Error("macro '" + def->text + "' has no parameter '" + kv.first + "'");
                f[kv.first] = kv.second;
            }
            frames_.push_back(std::move(f));
            std::string text;
            const int saved_line = line_;
            exec(def->bodies[0], text);
            line_ = saved_line;
            frames_.pop_back();
            --depth_;
            return Value(text);
        });
    }

    Flow exec_for(const Stmt& s, std::string& out) {
        const List seq = iterate(eval(*s.exprs[0]));
        List items;
        if (s.exprs.size() > 1) {
            for (const Value& item : seq) {
                frames_.emplace_back();
                assign(s, s.targets, item);
                const bool keep = eval(*s.exprs[1]).truthy();
                frames_.pop_back();
                if (keep) items.push_back(item);
            }
        } else {
            items = seq;
        }
        const int64_t n = static_cast<int64_t>(items.size());
        if (n == 0) {
            if (!s.has_else) return Flow::Normal;
            frames_.emplace_back();
            const Flow f = exec(s.bodies[1], out);
            frames_.pop_back();
            return f;
        }
        for (int64_t i = 0; i < n; ++i) {
            // An iteration is a step even with an empty body (nested loops over range()).
            if (++steps_ > kMaxSteps) fail_at(s.line, "runs more than 2 million steps (the sandbox's limit)");
            Dict loop;
            loop.set("index", Value(i + 1));
            loop.set("index0", Value(i));
            loop.set("revindex", Value(n - i));
            loop.set("revindex0", Value(n - i - 1));
            loop.set("first", Value(i == 0));
            loop.set("last", Value(i == n - 1));
            loop.set("length", Value(n));
            loop.set("depth", Value(int64_t{1}));
            loop.set("depth0", Value(int64_t{0}));
            loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)]
                                       : Value::undefined("there is no previous item"));
            loop.set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)]
                                           : Value::undefined("there is no next item"));
            loop.set("cycle", Value::callable("loop.cycle", [i](const Args& a) {
                         if (a.positional.empty()) throw Error("loop.cycle needs at least one value");
                         return a.positional[static_cast<size_t>(i) % a.positional.size()];
                     }));
            frames_.emplace_back();
            frames_.back()["loop"] = Value::namespace_(std::move(loop));
            assign(s, s.targets, items[static_cast<size_t>(i)]);
            const Flow f = exec(s.bodies[0], out);
            frames_.pop_back();
            if (f == Flow::Break) break;
        }
        return Flow::Normal;
    }

    Args call_args(const Expr& e) {
        Args a;
        const size_t nkw = e.keywords.size();
        const size_t npos = e.children.size() - 1 - nkw;
        for (size_t i = 0; i < npos; ++i) a.positional.push_back(eval(*e.children[1 + i]));
        for (size_t k = 0; k < nkw; ++k) a.keyword.emplace_back(e.keywords[k], eval(*e.children[1 + npos + k]));
        return a;
    }

    Value eval(const Expr& e) {
        // A left-deep chain (a ~ b ~ c ~ …) is parsed by a loop but evaluated by
        // recursion: bounded so an untrusted template cannot exhaust the stack.
        struct Depth {
            int& d;
            ~Depth() { --d; }
        } depth{++eval_depth_};
        if (eval_depth_ > 500) fail_at(e.line, "expression is nested deeper than 500 operations");
        if (++steps_ > kMaxSteps) fail_at(e.line, "runs more than 2 million steps (the sandbox's limit)");
        try {
            return eval_inner(e);
        } catch (const LocatedError&) {
            throw;
        } catch (const Error& err) {
            fail_at(e.line, err.what());
        }
    }

    Value eval_inner(const Expr& e) {
        switch (e.kind) {
            case ExprKind::Const:
                return e.value;
            case ExprKind::Name:
                return lookup(e.name);
            case ExprKind::List:
            case ExprKind::Tuple: {
                List items;
                for (const ExprPtr& c : e.children) items.push_back(eval(*c));
                return e.kind == ExprKind::List ? Value::list(std::move(items)) : Value::tuple(std::move(items));
            }
            case ExprKind::Dict: {
                Dict d;
                for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
                    const Value k = eval(*e.children[i]);
                    if (!k.is_string()) throw Error("dict keys must be strings here");
                    d.set(k.as_string(), eval(*e.children[i + 1]));
                }
                return Value::dict(std::move(d));
            }
            case ExprKind::GetAttr:
                return get_attribute(eval(*e.children[0]), e.name);
            case ExprKind::GetItem:
                return get_item(eval(*e.children[0]), eval(*e.children[1]));
            case ExprKind::Slice: {
                const auto part = [&](size_t i) { return e.children[i] ? eval(*e.children[i]) : Value(); };
                return get_slice(eval(*e.children[0]), part(1), part(2), part(3));
            }
            case ExprKind::Call: {
                const Value fn = eval(*e.children[0]);
                if (fn.is_undefined()) undefined_error(fn);
                if (fn.kind() != Kind::Callable) throw Error(std::string("'") + fn.type_name() + "' object is not callable");
                const Args a = call_args(e);
                line_ = e.line;
                return fn.function()(a);
            }
            case ExprKind::Filter: {
                const Value v = eval(*e.children[0]);
                return apply_filter(e.name, v, call_args(e));
            }
            case ExprKind::Test: {
                const Value v = eval(*e.children[0]);
                const Args a = call_args(e);
                if (!a.keyword.empty()) throw Error("keyword arguments to tests are not supported");
                return Value(apply_test(e.name, v, a.positional) != e.negated);
            }
            case ExprKind::Neg:
            case ExprKind::Pos: {
                const Value v = eval(*e.children[0]);
                if (v.is_undefined()) undefined_error(v);
                if (!v.is_number()) throw Error(std::string("bad operand type for unary -: '") + v.type_name() + "'");
                if (e.kind == ExprKind::Pos) return v.kind() == Kind::Float ? Value(v.as_float()) : Value(v.as_int());
                return v.kind() == Kind::Float ? Value(-v.as_float()) : Value(sub_checked(0, v.as_int(), "-"));
            }
            case ExprKind::Not:
                return Value(!eval(*e.children[0]).truthy());
            case ExprKind::And: {
                Value a = eval(*e.children[0]);
                return a.truthy() ? eval(*e.children[1]) : a;
            }
            case ExprKind::Or: {
                Value a = eval(*e.children[0]);
                return a.truthy() ? a : eval(*e.children[1]);
            }
            case ExprKind::Binary:
                return binary_op(e.name, eval(*e.children[0]), eval(*e.children[1]));
            case ExprKind::Compare: {
                Value left = eval(*e.children[0]);
                for (size_t i = 0; i < e.ops.size(); ++i) {
                    Value right = eval(*e.children[i + 1]);
                    const std::string& op = e.ops[i];
                    bool ok;
                    if (op == "==")
                        ok = equals(left, right);
                    else if (op == "!=")
                        ok = !equals(left, right);
                    else if (op == "in")
                        ok = contains(right, left);
                    else if (op == "notin")
                        ok = !contains(right, left);
                    else {
                        const int c = compare_values(left, right, op);
                        ok = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
                    }
                    if (!ok) return Value(false);
                    left = std::move(right);
                }
                return Value(true);
            }
            case ExprKind::CondExpr:
                if (eval(*e.children[0]).truthy()) return eval(*e.children[1]);
                if (e.children[2]) return eval(*e.children[2]);
                return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                        " evaluated to false and no else section was defined.");
        }
        return Value();
    }

    const Template& t_;
    std::tm now_;
    std::vector<Frame> frames_;
    int line_ = 1;
    int depth_ = 0;
    int eval_depth_ = 0;
    int64_t steps_ = 0;  // statements run and expressions evaluated, against kMaxSteps
};

}  // namespace

std::string render(const Template& t, const Dict& variables, const std::tm& now) {
    return Interpreter(t, variables, now).run();
}

}  // namespace droplora::data::jinja
