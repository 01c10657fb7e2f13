// The model folder: a path field, and what inspect_model() finds there (read
// from config.json and the safetensors headers only, so it is instant), or
// the engine's error in red.
#pragma once

#include <QWidget>

#include "config/run_config.h"

class QLabel;

namespace droplora::ui {

class PathEdit;

class ModelPanel : public QWidget {
    Q_OBJECT

public:
    explicit ModelPanel(QWidget* parent = nullptr);

    void setConfig(const droplora::config::RunConfig& config);
    void applyTo(droplora::config::RunConfig& config) const;

    QString modelDir() const;
    void setModelDir(const QString& dir);
    // True when the folder was inspected without error.
    bool isModelValid() const { return m_valid; }
    QString errorText() const;
    QString descriptionText() const;

signals:
    // The usable model folder, or an empty string when the folder is not a model.
    void modelChanged(const QString& dir);
    void changed();

private:
    void inspect(const QString& dir);

    PathEdit* m_path;
    QLabel* m_description;
    QLabel* m_error;
    bool m_valid = false;
};

}  // namespace droplora::ui
