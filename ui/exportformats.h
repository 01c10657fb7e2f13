// The export formats the workbench offers, in one table: the Export dialog's
// list, the menu's entries and the "how to load this" snippets all come from
// here, so a new format (e.g. GGUF) is one more row.
#pragma once

#include <QString>
#include <QVector>

#include "export/export.h"

namespace droplora::ui {

struct ExportFormatInfo {
    droplora::exports::ExportFormat format;
    QString id;            // short name, as `droplora export --format`
    QString name;          // shown in menus and the dialog
    QString description;   // one line: what the folder holds
    QString folderSuffix;  // the suggested output folder inside the run folder
    // How to load the result; {out} is the output folder, {model} the base model folder.
    QString snippet;
};

const QVector<ExportFormatInfo>& exportFormats();
// The row of `format`; the first row when the table has none.
const ExportFormatInfo& exportFormatInfo(droplora::exports::ExportFormat format);
// The snippet of `info` with its folders filled in.
QString loadSnippet(const ExportFormatInfo& info, const QString& outDir, const QString& modelDir);

}  // namespace droplora::ui
