// Short human texts for the status bar and the log.
#pragma once

#include <QString>

namespace droplora::ui {

QString formatDuration(double seconds);    // "42 s", "3 min 05 s", "2 h 07 min"
QString formatRate(double tokensPerSec);   // "1234 tok/s", "12.3k tok/s"
QString formatMemory(double megabytes);    // "512 MiB", "3.4 GiB"
// Shortest decimal text that reads back as the same double.
QString formatNumber(double value);
// "model.layers.3.self_attn.q_proj" -> "3.q_proj" (layer.projection).
QString shortModuleName(const QString& module);

}  // namespace droplora::ui
