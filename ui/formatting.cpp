#include "formatting.h"

#include <QLocale>
#include <QRegularExpression>
#include <cmath>

namespace droplora::ui {

QString formatDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("–");
    const auto total = static_cast<qint64>(std::llround(seconds));
    if (total < 60) return QStringLiteral("%1 s").arg(total);
    if (total < 3600) return QStringLiteral("%1 min %2 s").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString formatRate(double tokensPerSec) {
    if (!std::isfinite(tokensPerSec) || tokensPerSec <= 0) return QStringLiteral("– tok/s");
    if (tokensPerSec < 10000) return QStringLiteral("%1 tok/s").arg(std::llround(tokensPerSec));
    return QStringLiteral("%1k tok/s").arg(tokensPerSec / 1000.0, 0, 'f', 1);
}

QString formatMemory(double megabytes) {
    if (!std::isfinite(megabytes) || megabytes <= 0) return QStringLiteral("– MiB");
    if (megabytes < 1024) return QStringLiteral("%1 MiB").arg(std::llround(megabytes));
    return QStringLiteral("%1 GiB").arg(megabytes / 1024.0, 0, 'f', 1);
}

QString formatNumber(double value) {
    return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

QString shortModuleName(const QString& module) {
    static const QRegularExpression layered(QStringLiteral("layers\\.(\\d+)\\.(?:[^.]+\\.)*([^.]+)$"));
    const auto match = layered.match(module);
    if (match.hasMatch()) return match.captured(1) + QLatin1Char('.') + match.captured(2);
    return module;
}

}  // namespace droplora::ui
