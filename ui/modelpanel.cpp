#include "modelpanel.h"

#include <QFontDatabase>
#include <QLabel>
#include <QVBoxLayout>
#include <exception>

#include "model/model_info.h"
#include "pathedit.h"
#include "workbenchsettings.h"

namespace droplora::ui {

ModelPanel::ModelPanel(QWidget* parent)
    : QWidget(parent),
      m_path(new PathEdit(PathEdit::Mode::ExistingFolder, QStringLiteral("model"), this)),
      m_description(new QLabel(this)),
      m_error(new QLabel(this)) {
    auto* layout = new QVBoxLayout(this);
    auto* header = new QLabel(tr("Hugging Face model folder (config.json, *.safetensors, tokenizer.json or tokenizer.model):"), this);
    header->setWordWrap(true);
    header->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    layout->addWidget(header);
    layout->addWidget(m_path);
    m_path->setPlaceholderText(tr("/path/to/model"));
    m_path->setRecent(WorkbenchSettings::recentModels());

    m_description->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_description->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_description->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_description->setWordWrap(true);
    // Long paths wrap inside the panel instead of widening it.
    m_description->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_error->setStyleSheet(QStringLiteral("QLabel { color: #c62828; }"));
    m_error->setWordWrap(true);
    m_error->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->hide();
    layout->addWidget(m_error);
    layout->addWidget(m_description);
    layout->addStretch(1);

    connect(m_path, &PathEdit::pathChanged, this, [this](const QString& dir) {
        inspect(dir);
        emit changed();
    });
}

void ModelPanel::setConfig(const droplora::config::RunConfig& config) {
    m_path->setPath(QString::fromStdString(config.model));
}

void ModelPanel::applyTo(droplora::config::RunConfig& config) const { config.model = modelDir().toStdString(); }

QString ModelPanel::modelDir() const { return m_path->path(); }

void ModelPanel::setModelDir(const QString& dir) { m_path->setPath(dir); }

QString ModelPanel::errorText() const { return m_error->isHidden() ? QString() : m_error->text(); }

QString ModelPanel::descriptionText() const { return m_description->text(); }

void ModelPanel::inspect(const QString& dir) {
    m_valid = false;
    m_description->clear();
    m_error->hide();
    if (dir.isEmpty()) {
        emit modelChanged(QString());
        return;
    }
    try {
        const auto info = droplora::model::inspect_model(dir.toStdString());
        m_description->setText(QString::fromStdString(droplora::model::describe(info)));
        m_valid = true;
        WorkbenchSettings::addRecentModel(dir);
        m_path->setRecent(WorkbenchSettings::recentModels());
    } catch (const std::exception& e) {
        m_error->setText(QString::fromUtf8(e.what()));
        m_error->show();
    }
    emit modelChanged(m_valid ? dir : QString());
}

}  // namespace droplora::ui
