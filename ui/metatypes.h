// The engine's report types travel through Qt signals (queued across the
// worker thread, recorded by QSignalSpy in the tests), so Qt must know them.
#pragma once

#include <QMetaType>
#include <QString>

#include "train/observer.h"

Q_DECLARE_METATYPE(droplora::train::StepMetrics)
Q_DECLARE_METATYPE(droplora::train::EvalMetrics)
Q_DECLARE_METATYPE(droplora::train::StatsSample)
Q_DECLARE_METATYPE(droplora::train::RunOutcome)

namespace droplora::ui {

// Registers the types above once per process; safe to call again.
void registerMetaTypes();

QString outcomeName(droplora::train::RunOutcome outcome);

}  // namespace droplora::ui
