#include "commands.h"
#include "common/error.h"
namespace droplora::app {
int run_bench(const CommandArgs&) { fail("bench", "not built yet"); }
int run_generate(const CommandArgs&) { fail("generate", "not built yet"); }
}
