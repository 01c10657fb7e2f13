// The adapter: method, rank, alpha, DropLoRA's drop rate and mask mode, the
// projections that get an adapter, rsLoRA, input dropout, and an optional
// PEFT adapter to start from.
#pragma once

#include <QMap>
#include <QWidget>

#include "config/run_config.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QSpinBox;

namespace droplora::ui {

class NumberEdit;
class PathEdit;

class AdapterPanel : public QWidget {
    Q_OBJECT

public:
    explicit AdapterPanel(QWidget* parent = nullptr);

    void setConfig(const droplora::config::RunConfig& config);
    void applyTo(droplora::config::RunConfig& config) const;

    // The projections in the order the form lists (and writes) them.
    static const QStringList& projections();

signals:
    void changed();

private:
    void updateEnabled();
    void updateScaleNote();

    QComboBox* m_method;
    QSpinBox* m_rank;
    NumberEdit* m_alpha;
    NumberEdit* m_dropRate;
    QComboBox* m_mask;
    QMap<QString, QCheckBox*> m_targets;
    QCheckBox* m_rslora;
    NumberEdit* m_dropout;
    PathEdit* m_initAdapter;
    QLabel* m_scaleNote;
    double m_droploraRate = 0.5;  // restored when switching back from lora
};

}  // namespace droplora::ui
