// Export → the run's adapter in one of the formats of exportFormats(): the
// format, an output folder (typed or picked with a folder dialog), Export;
// when it is done, the engine's summary, "Open folder", "Copy path" and a
// short "how to load this" snippet for the format. Non-modal: the window
// stays usable while an export runs.
#pragma once

#include <QDialog>

#include "export/export.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace droplora::ui {

class ExportDialog : public QDialog {
    Q_OBJECT

public:
    explicit ExportDialog(QWidget* parent = nullptr);

    // The run (or checkpoint) folder to export and the base model it was trained on.
    void setSource(const QString& sourceDir, const QString& modelDir);
    void setFormat(droplora::exports::ExportFormat format);
    droplora::exports::ExportFormat format() const;
    QString outputDir() const;
    // The weight type of a GGUF model export: f16 (the default), q8_0, bf16 or f32.
    QString ggufType() const;
    void setGgufType(const QString& type);
    void setOutputDir(const QString& dir);
    void setBusy(bool busy);
    // The finished export: the summary, the snippet and the folder buttons.
    void showResult(bool ok, const QString& text, const QString& outDir);

    QString snippetText() const;
    QPushButton* openFolderButton() const { return m_openFolder; }
    QPushButton* copyPathButton() const { return m_copyPath; }
    QPushButton* exportButton() const { return m_export; }

signals:
    void exportRequested(droplora::exports::ExportFormat format, const QString& source, const QString& outDir);
    void cancelRequested();

private:
    void onFormatChanged();
    void browse();

    QString m_source;
    QString m_modelDir;
    QString m_resultDir;
    QLabel* m_sourceLabel;
    QComboBox* m_format;
    QComboBox* m_ggufType;
    QLabel* m_ggufTypeLabel;
    QLabel* m_description;
    QLineEdit* m_output;
    QPushButton* m_browse;
    QPushButton* m_export;
    QPushButton* m_cancel;
    QLabel* m_result;
    QPlainTextEdit* m_snippet;
    QPushButton* m_openFolder;
    QPushButton* m_copyPath;
    bool m_outputEdited = false;  // the user typed a folder: a format change keeps it
    bool m_busy = false;
};

}  // namespace droplora::ui
