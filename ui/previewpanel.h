// The embedded demo: a prompt, a template and a token budget; "Generate" asks
// the base model and the model with the current run's newest adapter, and shows
// both answers side by side. Usable during a run (the adapter is then the
// newest checkpoint's) and after it (the run's final adapter/).
#pragma once

#include <QString>
#include <QWidget>
#include <functional>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace droplora::ui {

class PreviewJob;

class PreviewPanel : public QWidget {
    Q_OBJECT

public:
    // What to generate with, asked when Generate is clicked.
    struct Source {
        QString modelDir;
        QString runDir;     // may be empty: the base model only
        bool running = false;  // the run is still training: prefer its checkpoints
    };
    using SourceProvider = std::function<Source()>;

    explicit PreviewPanel(QWidget* parent = nullptr);

    void setSourceProvider(SourceProvider provider) { m_provider = std::move(provider); }

    // The adapter a preview of `runDir` uses: the finished run's adapter/ (unless
    // `running`), else the newest checkpoints/step-*/adapter/; empty when none.
    static QString latestAdapterDir(const QString& runDir, bool running);

    void setPrompt(const QString& prompt);
    void setTemplate(const QString& templ);  // alpaca | llama2 | chatml | plain | none
    void setMaxNewTokens(int n);
    QString baseText() const;
    QString adaptedText() const;
    QString adapterDir() const { return m_adapterDir; }  // of the last generation
    QPushButton* generateButton() const { return m_generate; }
    PreviewJob* job() const { return m_job; }

public slots:
    // Returns false (and says why through Dialogs) when nothing was started.
    bool generate();

signals:
    void finished(bool ok);

private:
    void onSucceeded(const QString& base, const QString& adapted);
    void onFailed(const QString& message);

    SourceProvider m_provider;
    PreviewJob* m_job;
    QPlainTextEdit* m_prompt;
    QComboBox* m_template;
    QSpinBox* m_maxTokens;
    QPushButton* m_generate;
    QLabel* m_sourceLabel;
    QPlainTextEdit* m_base;
    QPlainTextEdit* m_adapted;
    QString m_adapterDir;
};

}  // namespace droplora::ui
