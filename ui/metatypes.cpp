#include "metatypes.h"

namespace droplora::ui {

void registerMetaTypes() {
    qRegisterMetaType<droplora::train::StepMetrics>("droplora::train::StepMetrics");
    qRegisterMetaType<droplora::train::EvalMetrics>("droplora::train::EvalMetrics");
    qRegisterMetaType<droplora::train::StatsSample>("droplora::train::StatsSample");
    qRegisterMetaType<droplora::train::RunOutcome>("droplora::train::RunOutcome");
}

QString outcomeName(droplora::train::RunOutcome outcome) {
    switch (outcome) {
    case droplora::train::RunOutcome::Finished: return QStringLiteral("finished");
    case droplora::train::RunOutcome::Cancelled: return QStringLiteral("stopped");
    case droplora::train::RunOutcome::Failed: return QStringLiteral("failed");
    }
    return QStringLiteral("unknown");
}

}  // namespace droplora::ui
